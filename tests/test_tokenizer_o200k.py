import pytest

from reference.tokenizer_o200k import VOCAB_SIZE, build_harmony_tokenizer, render_harmony_prompt, use_offline_tiktoken

STRINGS = [
    "How many r's in 'strawberry'?",
    "The quick brown fox jumps over the lazy dog. 1234567890",
    "  leading spaces\n\n\ttabs and\r\nCRLF   trailing   ",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "Unicode: naïve café, 日本語のテキスト, русский, emoji 🚀✨, math ∑∫√",
    "I'm sure you'll see they've gone; WE'LL SEE",
    "3.14159 + 2.71828 = 5.85987; 1e-5, -42, 0x1F",
    "<|start|>user<|message|>What is 2+2?<|end|><|start|>assistant<|channel|>final<|message|>4<|return|>",
]


@pytest.fixture(scope="module")
def hf_tokenizer():
    return build_harmony_tokenizer()


@pytest.fixture(scope="module")
def tiktoken_harmony():
    use_offline_tiktoken()
    import tiktoken

    return tiktoken.get_encoding("o200k_harmony")


def test_vocab_and_special_ids(hf_tokenizer):
    assert len(hf_tokenizer) == VOCAB_SIZE
    ids = {tok: hf_tokenizer.convert_tokens_to_ids(tok) for tok in ("<|startoftext|>", "<|endoftext|>", "<|return|>", "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|call|>", "<|constrain|>", "<|reserved_201087|>")}
    assert ids == {"<|startoftext|>": 199998, "<|endoftext|>": 199999, "<|return|>": 200002, "<|start|>": 200006,
                   "<|end|>": 200007, "<|message|>": 200008, "<|channel|>": 200005, "<|call|>": 200012,
                   "<|constrain|>": 200003, "<|reserved_201087|>": 201087}
    assert hf_tokenizer.eos_token_id == 200002 and hf_tokenizer.pad_token_id == 199999


@pytest.mark.parametrize("text", STRINGS)
def test_ids_equal_tiktoken(hf_tokenizer, tiktoken_harmony, text):
    ours = hf_tokenizer(text, add_special_tokens=False).input_ids
    assert ours == tiktoken_harmony.encode(text, allowed_special="all")
    assert hf_tokenizer.decode(ours) == text


def test_known_ids(hf_tokenizer):
    assert hf_tokenizer("How many r's in 'strawberry'?", add_special_tokens=False).input_ids == [
        5299, 1991, 428, 885, 306, 461, 302, 1618, 19772, 127222]


def test_harmony_rendering_matches_tokenizer(hf_tokenizer, tiktoken_harmony):
    use_offline_tiktoken()
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    harmony = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    for text in STRINGS[:6]:
        assert harmony.encode(text, allowed_special="all") == hf_tokenizer(text, add_special_tokens=False).input_ids
    ids = render_harmony_prompt("How many r's in 'strawberry'?")
    assert ids[:3] == [200006, 17360, 200008]  # <|start|>system<|message|>
    assert ids[-2:] == [200006, 173781]  # <|start|>assistant: the model speaks next
    rendered = hf_tokenizer.decode(ids)
    assert "<|start|>user<|message|>How many r's in 'strawberry'?<|end|>" in rendered
    assert hf_tokenizer(rendered, add_special_tokens=False).input_ids == ids
