import re
import subprocess
import sys
from pathlib import Path

from bench.cli import VERBS, main

ROOT = Path(__file__).resolve().parents[1]


def test_unknown_verb_is_one_line_exit_2(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "unknown command 'frobnicate'" in err and "make-model" in err


def test_bad_option_is_one_line_exit_2(capsys):
    assert main(["make-model", "--preset", "tiny", "--out", "x", "--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--no-such-flag" in err


def test_console_script_runs_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "frobnicate"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_every_verb_has_help():
    for verb in VERBS:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.cli", verb, "--help"], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, (verb, proc.stderr)
        assert verb in proc.stdout


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    # README opens with the two fresh-machine commands: install+run, then the tests.
    commands = [line.strip() for line in readme[:4] if line.startswith("    ")]
    assert len(commands) == 2
    # torch pinned first (the local CPU wheel), then the project with its test extra (the test command's
    # pytest-xdist), then the main job on the embedded default
    assert commands[0] == 'pip install torch==2.13.0 && pip install -e ".[test]" && gptoss-bench accuracy'
    assert commands[1].startswith("HF_HUB_OFFLINE=1 python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    pattern = re.search(r"sed -n 's/\^    \\\((.*?)\.\*\\\)\$", ci)
    assert pattern, "CI must read the test command from README"
    assert commands[1].startswith(pattern.group(1))
