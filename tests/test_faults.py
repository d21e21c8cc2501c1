"""Bad input and faults, as a new user meets them: every one a classified exit, exactly one stderr line,
no traceback, and --out / the database holding a complete run or nothing.

The table runs the CLI in-process (the checks happen before any work, so each case costs well under
a second); the cases that need a real process (signals, pipes, dropped capabilities, a full disk) are
in test_faults_process.py.
"""
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from ground.checkpoint import BUNDLED_TINY

ROOT = Path(__file__).resolve().parents[1]
SHARD = "model-00000-of-00000.safetensors"


def _tiny(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(BUNDLED_TINY, target)
    return target


def _suite(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((ROOT / "suites" / "smoke.yaml").read_text())
    data.update(changes)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _edit_config(model: Path, **changes) -> None:
    config = json.loads((model / "config.json").read_text())
    config.update(changes)
    (model / "config.json").write_text(json.dumps(config))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _other_app_db(tmp_path: Path) -> Path:
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    return db


# (case id, setup(tmp_path) -> extra argv, expected exit, text the one stderr line must hold)
CASES = [
    ("unknown-command", lambda t: ["acuracy"], 2, "unknown command 'acuracy'"),
    ("unknown-flag", lambda t: ["accuracy", "--meshes", "1x8"], 2, "unrecognized arguments: --meshes"),
    ("unknown-suite", lambda t: ["accuracy", "--suite", "no-such"], 2, "unknown suite 'no-such'"),
    ("binary-suite", lambda t: ["accuracy", "--suite", str(_write(t / "s.yaml", b"\x89PNG\x00\xff\xfe"))], 2,
     "not a text file"),
    ("invalid-yaml", lambda t: ["accuracy", "--suite", str(_write(t / "s.yaml", b"name: [unclosed"))], 2,
     "not valid YAML"),
    ("suite-typo", lambda t: ["accuracy", "--suite", str(_suite(t, decode_stepz=3))], 2, "unknown key 'decode_stepz'"),
    ("suite-not-mapping", lambda t: ["accuracy", "--suite", str(_write(t / "s.yaml", b"- 1\n- 2\n"))], 2,
     "a suite is a YAML mapping"),
    ("prefill-beyond-context", lambda t: ["accuracy", "--suite", str(_suite(t, prefill_lengths=[100000]))], 2,
     "exceeds the model's context of 4096 positions"),
    ("decode-beyond-context", lambda t: ["accuracy", "--suite", str(_suite(t, decode_steps=5000))], 2,
     "32 prompt tokens + 5000 decode steps = 5032 exceeds"),
    ("forcing-beyond-context", lambda t: ["accuracy", "--suite", str(_suite(
        t, teacher_forcing={"corpus": "eval", "tokens": 4090, "segment": 32}))], 2, "teacher_forcing"),
    ("bad-mesh", lambda t: ["accuracy", "--mesh", "3x"], 2, "mesh '3x' is not understood"),
    ("mesh-does-not-divide", lambda t: ["accuracy", "--mesh", "1x3"], 2,
     "mesh 1x3: num_attention_heads=16 does not split over 3 devices"),
    ("missing-model", lambda t: ["accuracy", "--model", str(t / "nope")], 2, "is not a directory"),
    ("config-only", lambda t: ["accuracy", "--model", str(_only_config(t))], 2,
     "holds no model.safetensors or model.safetensors.index.json"),
    ("truncated-weights", lambda t: ["accuracy", "--model", str(_with(t, lambda m: _truncate(m / SHARD)))], 2,
     "not a readable safetensors file"),
    ("corrupt-header", lambda t: ["accuracy", "--model", str(_with(t, lambda m: _poke(m / SHARD, 20, b"\xff\x00")))],
     2, "not a readable safetensors file"),
    ("config-mismatch", lambda t: ["accuracy", "--model", str(_with(t, lambda m: _edit_config(m, hidden_size=512)))],
     2, "the config does not match the weights"),
    ("config-fewer-heads", lambda t: ["accuracy", "--model", str(_with(
        t, lambda m: _edit_config(m, num_attention_heads=8)))], 2, "config.json implies"),
    ("broken-tokenizer", lambda t: ["accuracy", "--model", str(_with(
        t, lambda m: (m / "tokenizer.json").write_text("{broken")))], 2, "tokenizer cannot be loaded"),
    ("index-names-missing-shard", lambda t: ["accuracy", "--model", str(_with(t, lambda m: (m / SHARD).unlink()))], 2,
     "weight file named by the checkpoint index does not exist"),
    ("config-not-json", lambda t: ["accuracy", "--model", str(_with(
        t, lambda m: (m / "config.json").write_text("{not json")))], 2, "config.json: not valid JSON"),
    ("not-gpt-oss", lambda t: ["accuracy", "--model", str(_with(t, lambda m: _edit_config(m, model_type="llama")))],
     2, "holds model_type 'llama'"),
    ("out-is-a-file", lambda t: ["accuracy", "--out", str(_write(t / "file", b"x"))], 2, "is a file"),
    ("db-is-a-directory", lambda t: ["accuracy", "--db", str(t)], 2, "is not a file"),
    ("db-of-another-app", lambda t: ["accuracy", "--db", str(_other_app_db(t))], 2,
     "is not a gptoss-bench results database"),
    ("db-not-sqlite", lambda t: ["accuracy", "--db", str(_write(t / "x.db", b"hello" * 500))], 2,
     "not a usable results database"),
    ("backend-ttnn-missing", lambda t: ["accuracy", "--backend", "ttnn"], 2, "ttnn package is not installed"),
    ("reference-prompt-too-long", lambda t: ["reference", "--no-cache", "--prompt", "word " * 5000], 2,
     "exceeds the model's context of 4096 positions"),
    ("reference-decode-too-long", lambda t: ["reference", "--decode-steps", "10000"], 2,
     "decode steps = "),
    ("reference-out-is-a-file", lambda t: ["reference", "--out", str(_write(t / "f", b"x"))], 2, "is a file"),
    ("history-db-typo", lambda t: ["history", "--db", str(t / "typo" / "r.db")], 2, "no results database at"),
    ("history-limit", lambda t: ["history", "--limit", "0"], 2, "--limit '0' is not a positive integer"),
    ("make-model-preset", lambda t: ["make-model", "--preset", "7b", "--out", str(t / "m")], 2,
     "unknown preset '7b'"),
    ("make-model-over-data", lambda t: ["make-model", "--preset", "tiny", "--out", str(_write(
        t / "data" / "keep.txt", b"precious").parent)], 2, "refusing to overwrite it"),
]

ENV_CASES = [  # (case id, variable, value(tmp_path), argv, expected exit, text)
    ("bad-hf-model", "HF_MODEL", lambda t: str(t / "nope"), ["accuracy"], 2, "HF_MODEL"),
    ("bad-backend-env", "GPTOSS_BENCH_BACKEND", lambda t: "gpu", ["accuracy"], 2,
     "environment variable GPTOSS_BENCH_BACKEND='gpu'"),
    ("cache-is-a-file", "GPTOSS_BENCH_CACHE", lambda t: str(_write(t / "cachefile", b"x")), ["accuracy", "--db",
                                                                                           "{t}/r.db"], 2,
     "is a file"),
]


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _poke(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + len(data)] = data
    path.write_bytes(bytes(raw))


def _with(tmp_path: Path, damage) -> Path:
    model = _tiny(tmp_path)
    damage(model)
    return model


def _only_config(tmp_path: Path) -> Path:
    model = tmp_path / "config-only"
    model.mkdir()
    shutil.copy(BUNDLED_TINY / "config.json", model / "config.json")
    return model


def _check(tmp_path, capsys, argv, code, text):
    out, db = tmp_path / "out", tmp_path / "results.db"
    full = list(argv)
    if full[0] == "accuracy" and "--out" not in full:
        full += ["--out", str(out)]
    if full[0] == "accuracy" and "--db" not in full:
        full += ["--db", str(db)]
    got = main(full)
    err = capsys.readouterr().err
    assert got == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())  # no result, not half of one
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


@pytest.mark.parametrize("case, setup, code, text", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, capsys, monkeypatch, case, setup, code, text):
    monkeypatch.delenv("HF_MODEL", raising=False)
    _check(tmp_path, capsys, setup(tmp_path), code, text)


@pytest.mark.parametrize("case, name, value, argv, code, text", ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_bad_environment(tmp_path, capsys, monkeypatch, case, name, value, argv, code, text):
    monkeypatch.delenv("HF_MODEL", raising=False)
    monkeypatch.setenv(name, value(tmp_path))
    _check(tmp_path, capsys, [a.replace("{t}", str(tmp_path)) for a in argv], code, text)


def test_foreign_database_is_left_untouched(tmp_path, capsys):
    db = _other_app_db(tmp_path)
    before = db.read_bytes()
    assert main(["accuracy", "--db", str(db), "--out", str(tmp_path / "out")]) == 2
    assert db.read_bytes() == before


def test_checks_come_before_the_work(tmp_path, capsys, monkeypatch):
    """A read-only or broken output is found before the reference runs, not after."""
    import bench.accuracy

    monkeypatch.setattr(bench.accuracy, "run_accuracy", lambda *a, **k: pytest.fail("the run started"))
    assert main(["accuracy", "--out", str(_write(tmp_path / "f", b"x")), "--db", str(tmp_path / "db")]) == 2
    assert main(["accuracy", "--out", str(tmp_path / "o"), "--db", str(_other_app_db(tmp_path))]) == 2


def test_internal_error_has_its_own_exit_code_and_a_log(tmp_path, capsys, monkeypatch):
    import bench.accuracy

    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path / "cache"))

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug in the runner")

    monkeypatch.setattr(bench.accuracy, "run_accuracy", bug)
    argv = ["accuracy", "--out", str(tmp_path / "out"), "--db", str(tmp_path / "db")]
    assert main(argv) == 3
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("internal error: ZeroDivisionError: a bug in the runner (traceback in ")
    log = Path(line.split("traceback in ")[1].split(";")[0])
    assert log.parent == tmp_path / "cache" / "logs" and "ZeroDivisionError: a bug in the runner" in log.read_text()
    assert main([*argv, "--debug"]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().splitlines()[-1].startswith("internal error:")


def test_nan_model_fails_as_nonfinite_and_is_stored(tmp_path, capsys, monkeypatch):
    """NaN on both sides used to pass at PCC 1.0 (and crash the store): now it fails, named, and lands."""
    from safetensors.torch import load_file, save_file

    from bench.results import load_result

    monkeypatch.delenv("HF_MODEL", raising=False)
    model = _tiny(tmp_path)
    tensors = load_file(model / SHARD)
    tensors["model.layers.1.post_attention_layernorm.weight"][3] = float("nan")
    save_file(tensors, model / SHARD, metadata={"format": "pt"})
    suite = _suite(tmp_path, meshes=["1x1"], decode_steps=1, teacher_forcing={"corpus": "eval", "tokens": 8,
                                                                               "segment": 8})
    out, db = tmp_path / "out", tmp_path / "results.db"
    assert main(["accuracy", "--suite", str(suite), "--model", str(model), "--out", str(out), "--db", str(db)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].startswith("FAIL: ")
    assert "reference: warning: " in captured.err and "non-finite logits in prefill" in captured.err
    [path] = out.glob("*.json")
    result = load_result(path)
    states = {(v.metric, v.layer): v.state for v in result.verdicts if v.field in (None, "layer_out")
              and v.kind in (None, "accumulated") and v.phase in (None, "prefill")}
    assert states[("pcc", 0)] == "pass" and states[("pcc", 1)] == "nonfinite" and states[("pcc", 3)] == "nonfinite"
    assert states[("top1", None)] == "nonfinite" and states[("kl", None)] == "nonfinite"
    assert result.state == "nonfinite" and "nonfinite" in captured.out
    stored = sqlite3.connect(db).execute("SELECT verdict FROM runs").fetchall()
    assert stored == [("nonfinite",)]


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    """tempfile makes 0600 files and 0700 directories; a CI uploader running as another user must be
    able to read results and checkpoints, so everything written gets the umask's mode."""
    import os

    from ground.captures import Captures
    from ground.fsutil import atomic_text
    from reference.checkpoint_writer import make_checkpoint
    from test_results import make_result

    from bench.results import save_result

    old = os.umask(umask)
    try:
        written = [save_result(make_result(), tmp_path / "r.json"), atomic_text(tmp_path / "s.json", "{}")]
        Captures(tokens={}).save(tmp_path / "c.safetensors")
        written.append(tmp_path / "c.safetensors")
        model = make_checkpoint("tiny", tmp_path / "model")
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(file_mode)}
    assert oct(model.stat().st_mode & 0o777) == oct(dir_mode)
    assert {oct(p.stat().st_mode & 0o777) for p in model.iterdir()} == {oct(file_mode)}
