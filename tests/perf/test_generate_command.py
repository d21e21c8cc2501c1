"""gptoss-bench generate: streams what the model decodes and prints the performance block."""
import pytest
import torch

from bench.cli import main


def test_streams_the_greedy_continuation_of_the_tiny_model(capsys):
    import tt_model
    from ground.checkpoint import bundled_tiny

    prompt = "How many r's in 'strawberry'?"
    assert main(["generate", "--prompt", prompt, "--max-new-tokens", "5", "--mesh", "1x1"]) == 0
    out = capsys.readouterr().out
    checkpoint = bundled_tiny()
    ids = torch.tensor([checkpoint.tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    model = tt_model.load(checkpoint, mesh="1x1", backend="emulated")
    try:
        expected = checkpoint.tokenizer.decode(model.generate(ids, 5)[0].tolist(), skip_special_tokens=True)
    finally:
        model.close()
    assert out.startswith(prompt + expected)
    assert "Average Time to First Token (TTFT):" in out and "tok/s/user" in out
    assert "=== Performance Metrics (modelled (Wormhole cost model)) ===" in out
    assert "emulator host wall time, not a Wormhole time" in out


def test_a_batch_streams_per_user_lines(capsys, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("What is 2 + 3?\n\nSort: 3 1 2\n")
    assert main(["generate", "--prompts", str(prompts), "--max-new-tokens", "3", "--mesh", "1x1"]) == 0
    out = capsys.readouterr().out
    assert "--- [0] What is 2 + 3?" in out and "--- [1] Sort: 3 1 2" in out
    assert "[1] " in out.split("--- [0]")[0]  # user 1 streamed before the final listing
    assert "Global batch size: 2" in out


@pytest.mark.parametrize("argv, message", [
    ([], "no prompt given"),
    (["--prompts", "/nonexistent/prompts.txt"], "does not exist"),
    (["--prompt", "hi", "--max-new-tokens", "0"], "--max-new-tokens 0"),
    (["--prompt", "hi", "--temperature", "-1"], "temperature must be >= 0"),
])
def test_bad_input_exits_2(argv, message, capsys):
    assert main(["generate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_gpt_oss_vocabulary_prompts_use_the_harmony_chat_format():
    """A GPT-OSS-vocabulary checkpoint gets harmony's rendering: system, user, then the assistant's turn."""
    from bench.generate import encode, is_harmony
    from tests.perf.conftest import shape_only

    checkpoint = shape_only("20b", 1)
    assert is_harmony(checkpoint)
    ids = encode(checkpoint, None, "How many r's in 'strawberry'?")
    start, message, end = 200006, 200008, 200007  # <|start|>, <|message|>, <|end|> in o200k_harmony
    assert ids[:3] == [start, 17360, message]  # <|start|>system<|message|>
    assert ids.count(end) == 2 and ids[-2] == start  # system and user closed, then <|start|>assistant
