"""tt-perf-report (PyPI, the tool TT engineers run on hardware CSVs) reads the modelled op trace without error.
It pins matplotlib 3.10.9, so it lives in a venv of its own (created here, from PyPI)."""
import os
import subprocess
import venv
from pathlib import Path

import pytest

from bench.cli import main

pytestmark = pytest.mark.slow
VERSION = "1.4.1"


@pytest.fixture(scope="module")
def tt_perf_report(tmp_path_factory) -> Path:
    root = Path(os.environ.get("TT_PERF_REPORT_VENV") or tmp_path_factory.mktemp("tt-perf-report-venv"))
    tool = root / "bin" / "tt-perf-report"
    if not tool.exists():
        venv.create(root, with_pip=True)
        subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        f"tt-perf-report=={VERSION}"], check=True, timeout=900)
    return tool


def test_tt_perf_report_reads_the_modelled_trace(tt_perf_report, tmp_path):
    assert main(["perf", "--mesh", "1x8", "--batch", "1", "--isl", "32", "--osl", "3", "--out", str(tmp_path),
                 "--db", str(tmp_path / "r.db")]) == 0
    (trace,) = tmp_path.glob("ops_perf_results_*.csv")
    for extra in ([], ["--start-signpost", "PREFILL_START", "--end-signpost", "PREFILL_END"]):
        done = subprocess.run([str(tt_perf_report), str(trace), "--no-advice", *extra], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Architecture: wormhole, Worker cores: 64" in done.stdout
        assert "Detected data from 8 devices" in done.stdout
        assert "MatmulDeviceOperation" in done.stdout and "Traceback" not in done.stderr


def test_tt_perf_report_reads_the_documented_example(tt_perf_report):
    """The control: the example CSV of profiler-csv.md, as tt-perf-report 1.4.1 was checked on it."""
    example = Path(__file__).resolve().parents[1] / "data" / "ops_perf_results_example.csv"
    done = subprocess.run([str(tt_perf_report), str(example), "--no-advice"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "32 x 2880 x 5120" in done.stdout, done.stderr[-2000:]
