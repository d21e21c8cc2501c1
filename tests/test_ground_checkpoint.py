"""ground.checkpoint: one object per checkpoint (config read once, content identity, resolution order)."""
import json
import os
import shutil
from pathlib import Path

import pytest

from ground.checkpoint import BUNDLED_TINY, Checkpoint, resolve_checkpoint
from ground.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def copy_of_tiny(tmp_path, tiny_random_dir):
    target = tmp_path / "m"
    shutil.copytree(tiny_random_dir, target)
    return target


def _shard(path: Path) -> Path:
    return sorted(path.glob("model-*.safetensors"))[0]


def test_open_reads_config_once_and_types_it(tiny_random_dir):
    ckpt = Checkpoint.open(tiny_random_dir)
    assert (ckpt.config.hidden_size, ckpt.config.num_local_experts, ckpt.config.vocab_size) == (256, 8, 1024)
    assert ckpt.config.is_mxfp4 and ckpt.hf_config().num_experts_per_tok == 4
    assert ckpt.tensors.float("model.norm.weight").shape == (256,)
    assert ckpt.tensors.expert_row("model.layers.0.mlp.experts", "down_proj", 7).shape == (256, 256)  # [in, out]
    assert ckpt.tokenizer.pad_token_id == 1 and ckpt.tokenizer.encode("What is 12 + 7?")


def test_identity_follows_content_not_path_or_config(copy_of_tiny, tiny_random_dir):
    original = Checkpoint.open(tiny_random_dir).identity
    assert Checkpoint.open(copy_of_tiny).identity == original  # same bytes elsewhere: same model
    shard = _shard(copy_of_tiny)
    stat = shard.stat()
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0x01  # one weight bit, in place: size unchanged, mtime put back
    shard.write_bytes(bytes(data))
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert shard.stat().st_size == stat.st_size and shard.stat().st_mtime_ns == stat.st_mtime_ns
    edited = Checkpoint.open(copy_of_tiny)
    assert edited.config_hash == Checkpoint.open(tiny_random_dir).config_hash
    assert edited.identity != original


def test_identity_digests_are_remembered(copy_of_tiny, monkeypatch, tmp_path):
    import ground.identity as identity

    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path / "cache"))
    first = Checkpoint.open(copy_of_tiny).identity
    calls = []
    monkeypatch.setattr(identity, "_hash_file", lambda path: calls.append(path) or "x")
    assert Checkpoint.open(copy_of_tiny).identity == first and calls == []  # every file served by the memo
    (copy_of_tiny / "tokenizer.json").touch()  # a write changes ctime: that one file is hashed again
    Checkpoint.open(copy_of_tiny).identity
    assert [p.name for p in calls] == ["tokenizer.json"]


def test_resolution_order(monkeypatch, tiny_random_dir, tmp_path):
    monkeypatch.delenv("HF_MODEL", raising=False)
    assert resolve_checkpoint().path == BUNDLED_TINY
    assert resolve_checkpoint(suite_model="tiny").source == "bundled tiny model"
    monkeypatch.setenv("HF_MODEL", str(tiny_random_dir))
    assert resolve_checkpoint(suite_model="tiny").path == tiny_random_dir.resolve()
    assert resolve_checkpoint(BUNDLED_TINY).path == BUNDLED_TINY  # --model wins
    monkeypatch.setenv("HF_MODEL", str(tmp_path / "missing"))
    with pytest.raises(UserError, match=r"HF_MODEL '.*missing' is not a directory"):
        resolve_checkpoint(suite_model="tiny")  # a bad HF_MODEL is an error, never skipped
    monkeypatch.delenv("HF_MODEL")
    with pytest.raises(UserError, match=r"takes its model from \$HF_MODEL, which is unset"):
        resolve_checkpoint(suite_model="$HF_MODEL")


@pytest.mark.parametrize("break_it, message", [
    (lambda d: (d / "config.json").unlink(), "has no config.json"),
    (lambda d: (d / "config.json").write_text("{not json"), "config.json: not valid JSON"),
    (lambda d: (d / "config.json").write_text(json.dumps({"model_type": "llama"})), "holds model_type 'llama'"),
    (lambda d: (d / "config.json").write_text(json.dumps({"model_type": "gpt_oss"})),
     "missing or non-integer hidden_size"),
])
def test_bad_directories_name_the_problem(copy_of_tiny, break_it, message):
    break_it(copy_of_tiny)
    with pytest.raises(UserError, match=message):
        Checkpoint.open(copy_of_tiny)


def test_index_naming_a_missing_shard(copy_of_tiny):
    index = json.loads((copy_of_tiny / "model.safetensors.index.json").read_text())
    (copy_of_tiny / index["weight_map"]["model.norm.weight"]).unlink()
    ckpt = Checkpoint.open(copy_of_tiny)
    with pytest.raises(UserError, match="weight file named by the checkpoint index does not exist"):
        ckpt.tensors.float("model.norm.weight")
    with pytest.raises(UserError, match="lacks tensor 'no.such.tensor'"):
        ckpt.tensors.get("no.such.tensor")


def test_verbose_turns_the_third_party_quieting_off(tmp_path, monkeypatch):
    """-v skips quiet_third_party (the quiet default itself is checked on a real run in a fresh process:
    test_accuracy_command.test_cold_run_reads_config_once_and_prints_no_third_party_noise)."""
    import bench.cli as cli

    calls = []
    monkeypatch.setattr(cli, "quiet_third_party", lambda: calls.append("quiet"))
    argv = ["history", "--db", str(tmp_path / "none.db")]
    assert cli.main(argv) == 2 and calls == ["quiet"]
    assert cli.main([*argv, "-v"]) == 2 and calls == ["quiet"]
