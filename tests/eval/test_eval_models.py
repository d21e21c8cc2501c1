"""gptoss-ref / gptoss-tt as lm-eval models: registry, model args, tokenisation, scoring, generation."""

import pytest
import torch
from lm_eval.api.instance import Instance

from bench.lmeval import chat
from bench.lmeval.args import DeviceArgs, ReferenceArgs, parse
from bench.lmeval.generation import GenSpec, cut, gen_spec, generate_batch, pick
from ground.errors import UserError


def _ll(pairs):
    return [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]


def _gen(pairs):
    return [Instance("generate_until", {}, pair, i) for i, pair in enumerate(pairs)]


# ---------------------------------------------------------------- registry and model args

def test_both_models_are_registered_beside_lm_evals_own():
    from lm_eval.api.registry import get_model

    import bench.lmeval

    assert get_model("gptoss-ref") is bench.lmeval.GptOssReference
    assert get_model("gptoss-tt") is bench.lmeval.GptOssDevice
    assert get_model("hf").__name__ == "HFLM"  # registering ours did not hide lm-eval's


def test_unknown_model_arg_is_one_line_with_a_hint():
    with pytest.raises(UserError, match=r"unknown model arg 'batchsize' for gptoss-tt \(did you mean 'batch_size'\?\)"):
        parse("gptoss-tt", DeviceArgs, {"batchsize": 8})
    with pytest.raises(UserError, match="unknown model arg 'mesh' for gptoss-ref"):
        parse("gptoss-ref", ReferenceArgs, {"mesh": "1x8"})  # the reference has no mesh
    with pytest.raises(UserError, match=r"model arg batch_size=0 for gptoss-ref: .*greater than 0"):
        parse("gptoss-ref", ReferenceArgs, {"batch_size": 0})


def test_model_args_in_lm_evals_string_convention():
    from bench.lmeval import GptOssReference

    with pytest.raises(UserError, match="'/nonexistent' is not a directory"):
        GptOssReference.create_from_arg_string("pretrained=/nonexistent,batch_size=4")
    args = parse("gptoss-tt", DeviceArgs, {"batch_size": 64, "max_batch_size": 8, "add_bos_token": True})
    assert args.effective_batch_size() == 8 and args.mesh == "1x8" and args.backend == "auto"


# ---------------------------------------------------------------- generation pieces

def test_gen_kwargs():
    spec = gen_spec({"until": "\n", "max_new_tokens": 5, "do_sample": False, "temperature": 0.7}, 256, 1)
    assert spec == GenSpec(until=("\n",), max_new=5, temperature=0.0, top_p=1.0, top_k=0, seed=1)
    assert gen_spec({"do_sample": True}, 7, 1).temperature == 1.0 and gen_spec({}, 7, 1).max_new == 7
    with pytest.raises(UserError, match="num_beams not supported"):
        gen_spec({"num_beams": 4}, 256, 1)


def test_cut_at_the_first_stop_string():
    assert cut(" 1 2\n3", ("\n", "2")) == (" 1 ", True)
    assert cut(" 1 2", ("\n",)) == (" 1 2", False)


def test_pick_greedy_and_seeded_sampling():
    logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 1.0]])
    assert pick(logits, GenSpec((), 1), torch.Generator()).tolist() == [1, 0]
    top1 = GenSpec((), 1, temperature=1.0, top_k=1)
    assert pick(logits, top1, torch.Generator().manual_seed(0)).tolist() == [1, 0]
    hot = GenSpec((), 1, temperature=5.0)
    draws = [pick(logits, hot, torch.Generator().manual_seed(3)).tolist() for _ in range(2)]
    assert draws[0] == draws[1]


class ScriptedSide:
    """Emits a fixed token script per row (one-hot logits); counts the decode steps it is asked for."""

    def __init__(self, scripts, vocab=16):
        self.scripts, self.vocab, self.t, self.steps = scripts, vocab, 0, 0

    def _logits(self):
        out = torch.zeros(len(self.scripts), self.vocab)
        for row, script in enumerate(self.scripts):
            out[row, script[min(self.t, len(script) - 1)]] = 1.0
        return out

    def start(self, prompts, max_new, pad_id):
        self.t = 0
        return self._logits()

    def step(self, tokens):
        self.steps += 1
        self.t += 1
        return self._logits()


def test_generate_batch_stops_each_row_on_its_own():
    letters = "abcdefghij\n"  # token i decodes to letters[i]; 10 is a newline; 15 is end-of-sequence
    decode = lambda ids: "".join(letters[i] if i < len(letters) else "" for i in ids)  # noqa: E731
    side = ScriptedSide([[0, 1, 10, 2, 3], [4, 15, 5, 5, 5], [6, 7, 8, 9, 0, 1, 2, 3]])
    texts = generate_batch(side, [[1], [1, 2], [3]], GenSpec(("\n",), max_new=6), decode, stop_ids={15}, pad_id=0)
    assert texts == ["ab", "e", "ghijab"]  # stop string, end-of-sequence token, max_new tokens
    assert side.steps == 5  # the last row needs all six tokens; no step beyond
    side = ScriptedSide([[0, 10], [1, 10]])
    generate_batch(side, [[1], [1]], GenSpec(("\n",), max_new=50), decode, stop_ids=set(), pad_id=0)
    assert side.steps == 1  # every row stopped: the batch ends early


# ---------------------------------------------------------------- chat templates

class _Vocab:
    chat_template, unk_token_id = None, None

    def __init__(self, tokens):
        self.tokens = tokens

    def convert_tokens_to_ids(self, token):
        return self.tokens.get(token)


def test_harmony_only_for_a_harmony_vocabulary():
    assert chat.has_harmony_vocab(_Vocab({t: i for i, t in enumerate(chat.HARMONY_TOKENS)}))
    with pytest.raises(UserError, match="no chat template and no harmony tokens"):
        chat.render(_Vocab({"<|endoftext|>": 0}), [{"role": "user", "content": "hi"}], True)


def test_final_channel_of_a_harmony_completion():
    raw = "<|channel|>analysis<|message|>2+2 is 4<|end|><|start|>assistant<|channel|>final<|message|> 4<|return|>"
    assert chat.final_answer(raw) == " 4"
    assert chat.final_answer("<|channel|>analysis<|message|>thinking") == "thinking"


# ---------------------------------------------------------------- the reference on the tiny model

def test_tokenisation_follows_hflm_and_add_bos_token(reference_lm, reference_lm_bos):
    tok = reference_lm.tokenizer
    plain = tok.encode("What is 2 + 2?", add_special_tokens=False)
    assert reference_lm.tok_encode("What is 2 + 2?") == plain  # the tiny tokenizer adds no BOS
    assert reference_lm.prefix_token_id == tok.eos_token_id == 0
    assert reference_lm_bos.tok_encode("What is 2 + 2?") == [0, *plain]
    assert reference_lm_bos.tok_encode("<|endoftext|>What is 2 + 2?") == [0, *plain]  # never a second one
    assert reference_lm_bos.tok_encode("What is 2 + 2?", add_special_tokens=False) == plain
    ctx, cont = reference_lm_bos._encode_pair("What is 12 + 7?", " 19")
    assert ctx[0] == 0 and tok.decode(cont) == " 19" and len(cont) == 2  # digits are split one by one


def test_loglikelihood_equals_a_direct_forward(reference_lm_bos):
    """Batched, sorted, grouped scoring gives each request what one unpadded forward gives it."""
    pairs = [("What is 12 + 7?", " 19"), ("What is 12 + 7?", " 18"), ("What is 12 + 7?", " 9"),
             ("Copy: k d m ->", " k d m"), ("", "Sort: 3 1 2 -> 1 2 3")]
    got = reference_lm_bos.loglikelihood(_ll(pairs))
    model = reference_lm_bos.side.model
    for (context, continuation), (logprob, greedy) in zip(pairs, got):
        ctx, cont = (reference_lm_bos._encode_pair(context, continuation) if context
                     else ([0], reference_lm_bos.tok_encode(continuation, add_special_tokens=False)))
        ids = torch.tensor([ctx + cont])
        with torch.no_grad():
            logp = model(input_ids=ids).logits[0, len(ctx) - 1:-1].log_softmax(-1)
        expected = logp.gather(-1, torch.tensor(cont)[:, None]).sum().item()
        assert logprob == pytest.approx(expected, abs=1e-5)
        assert greedy == bool((logp.argmax(-1) == torch.tensor(cont)).all())
    assert got[0][0] > max(got[1][0], got[2][0])  # the tiny model knows 12 + 7
    assert got[3][1]  # and copies greedily


def test_generate_until_applies_stops_and_max_gen_toks(reference_lm_bos):
    out = reference_lm_bos.generate_until(_gen([
        ("Copy: k d m f ->", {"until": ["\n"], "max_gen_toks": 16}),
        ("Copy: k d m f ->", {"until": [" m"], "max_gen_toks": 16}),
        ("Copy: k d m f ->", {"until": ["\n"], "max_gen_toks": 2}),
        ("Sort: 5 2 9 ->", {"until": ["\n"], "max_gen_toks": 16}),
    ]))
    assert out == [" k d m f", " k d", " k d", " 2 5 9"]
    # Left padding and positions that skip it: a batch of different lengths generates what each alone does.
    kwargs = {"until": ["\n"], "max_gen_toks": 12}
    prompts = ["Copy: k d m f e ->", "Sort: 5 2 9 ->", "What is 40 + 2?"]
    batched = reference_lm_bos.generate_until(_gen([(p, kwargs) for p in prompts]))
    assert batched == [reference_lm_bos.generate_until(_gen([(p, kwargs)]))[0] for p in prompts]


def test_rolling_loglikelihood_is_the_sum_over_the_text(reference_lm):
    text = "Copy: a b c -> a b c"
    rolling = reference_lm.loglikelihood_rolling([Instance("loglikelihood_rolling", {}, (text,), 0)])[0]
    # One window: the prefix token then the whole text, every token scored once.
    whole = reference_lm.loglikelihood(_ll([("", text)]))[0][0]
    assert rolling == pytest.approx(whole, abs=1e-5) and rolling < 0


# ---------------------------------------------------------------- the device on the emulator

DEVICE_PAIRS = [("What is 12 + 7?", " 19"), ("Copy: k d m f e ->", " k d m f e"), ("", "Sort: 3 1 2 -> 1 2 3")]


def test_device_scores_ignore_left_padding_and_track_the_reference(device_lm, reference_lm_bos):
    """Rows of different lengths share a left-padded prefill; alone, each gives the same numbers. They
    are close to the float32 reference's (bfloat16 activations, block-float weights), not equal."""
    batched = device_lm.loglikelihood(_ll(DEVICE_PAIRS))
    alone = [device_lm.loglikelihood(_ll([pair]))[0] for pair in DEVICE_PAIRS]
    for (a, greedy_a), (b, greedy_b) in zip(batched, alone):
        assert a == pytest.approx(b, abs=1e-4) and greedy_a == greedy_b
    reference = reference_lm_bos.loglikelihood(_ll(DEVICE_PAIRS))
    diffs = [abs(d[0] - r[0]) for d, r in zip(batched, reference)]
    assert max(diffs) < 0.3 and 0 < sum(diffs)
    assert device_lm.generate_until(_gen([("Copy: k d m f ->", {"until": ["\n"], "max_gen_toks": 16})])) == [" k d m f"]


def test_lm_evals_python_api_runs_gptoss_ref_by_name(shipped_tasks):
    """The documented entry point: ``import bench.lmeval``, then lm-eval's own simple_evaluate."""
    from lm_eval import simple_evaluate

    from ground.checkpoint import BUNDLED_TINY

    results = simple_evaluate(model="gptoss-ref", model_args=f"pretrained={BUNDLED_TINY},add_bos_token=true",
                              tasks=["gptoss_tiny_copy_mc"], limit=2, task_manager=shipped_tasks, bootstrap_iters=0)
    assert results["config"]["model"] == "gptoss-ref" and len(results["config"]["model_identity"]) == 16
    assert results["n-samples"]["gptoss_tiny_copy_mc"] == {"original": 200, "effective": 2}
    per_doc = [s["acc"] for s in results["samples"]["gptoss_tiny_copy_mc"]]
    assert results["results"]["gptoss_tiny_copy_mc"]["acc,none"] == sum(per_doc) / 2
