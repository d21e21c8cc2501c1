"""gptoss-bench report: one self-contained page from stored results, every section filled, opened in a
real headless Chromium from file://."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import store
from bench.cli import main
from bench.results import Provenance, Row, RunResult, Verdict, load_result

DATA = Path(__file__).resolve().parent / "data"
SECTIONS = ("verdict", "provenance", "accuracy", "tasks", "speed", "history-accuracy", "history-perf", "history-eval",
            "comparison")


def _prov(kind_suite="smoke") -> Provenance:
    return Provenance(git_commit="abc123", host="vm", backend="emulated", mesh="1x8", model_path="/m/tiny",
                      model_identity="0123456789abcdef", model_config_hash="c0ffee", suite_name=kind_suite,
                      suite_hash="f" * 64, precision={"expert_weights": "bfloat8_b"})


def _perf(run_id: str, time: str, tps: float) -> RunResult:
    key = dict(mesh="1x8", batch=1, isl=128, osl=32, timing="modelled", clock="device")
    rows = [Row(metric="ttft_ms", value=180.0, **key), Row(metric="decode_ms", stat="mean", value=1000 / tps, **key),
            Row(metric="decode_ms", stat="p99", value=1000 / tps * 1.02, **key),
            Row(metric="tokens_per_s_per_user", value=tps, **key), Row(metric="tokens_per_s", value=tps, **key),
            Row(metric="prefill_tokens_per_s", value=711.0, **key),
            Row(metric="pct_of_limit", phase="decode", value=38.5, **key),
            Row(metric="compile_s", phase="prefill", value=2.5, **key), Row(metric="compile_s", value=2.9, **key)]
    for category, share in (("experts", 0.55), ("attention", 0.2), ("ccl", 0.15), ("lm_head", 0.1)):
        rows.append(Row(metric="op_time_share", phase="decode", category=category, value=share, **key))
    return RunResult(kind="perf", run_id=run_id, time=time, provenance=_prov(), thresholds={}, rows=rows, verdicts=[])


def _eval(run_id: str, time: str) -> RunResult:
    rows, verdicts = [], []
    for task, dev, ref in (("gptoss_copy_mc", 1.0, 1.0), ("gptoss_arithmetic_mc", 0.5, 0.55)):
        for side, value in (("device", dev), ("reference", ref)):
            rows.append(Row(metric="task_score", task=task, task_metric="acc", side=side, value=value, stderr=0.07))
        rows += [Row(metric="task_delta", task=task, task_metric="acc", value=dev - ref),
                 Row(metric="task_ratio", task=task, task_metric="acc", value=dev / ref)]
        state = "pass" if dev / ref >= 0.95 else "fail"
        verdicts.append(Verdict(metric="task_ratio", task=task, task_metric="acc", state=state, value=dev / ref,
                                threshold=0.95, message=f"{task} ratio {dev / ref:.4f}"))
    return RunResult(kind="eval", run_id=run_id, time=time, provenance=_prov(), thresholds={"tolerance": 0.05},
                     rows=rows, verdicts=verdicts)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A database holding a real smoke accuracy run (the stored v1 file, migrated), synthetic speed and task
    runs, and a little history of each."""
    root = tmp_path_factory.mktemp("report")
    db = root / "results.db"
    conn = store.connect(db)
    accuracy = load_result(DATA / "results_v1.json")
    earlier = accuracy.model_copy(update={"run_id": "acc-earlier", "time": "2026-11-20T10:00:00+00:00"})
    for run in (earlier, accuracy, _perf("perf-earlier", "2026-11-20T10:00:00+00:00", 26.0),
                _perf("perf-now", "2026-11-27T10:00:00+00:00", 22.0), _eval("eval-now", "2026-11-27T10:00:00+00:00")):
        store.insert_run(conn, run)
    conn.close()
    return root, db


@pytest.fixture(scope="module")
def page(stored):
    root, db = stored
    out = root / "report.html"
    assert main(["report", "--latest", "--db", str(db), "--baseline", "latest", "--out", str(out)]) == 0
    return out, out.read_text()


def test_every_section_is_filled(page):
    _, html = page
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in html, anchor
    assert 'class="empty"' not in html  # no section fell back to "nothing to show"
    toc = re.findall(r'<a href="#([^"]+)">', html)
    assert set(toc) == set(SECTIONS) - {"verdict"}
    assert "FAIL against latest stored runs" in html and "gptoss_arithmetic_mc ratio 0.9091" in html  # says why
    assert "| " not in html  # tables are tables, not Markdown


def test_self_contained_and_accessible(page):
    out, html = page
    assert out.stat().st_size < 2 * 2**20
    assert not re.search(r'<(script|link|img|iframe)\b', html)
    assert not re.search(r'(src|href)="(?!#)', html) and not re.search(r"url\((?!#)", html) and "@import" not in html
    svgs = re.findall(r"<svg [^>]*>", html)
    assert len(svgs) >= 8 and all('role="img"' in s and 'aria-label="' in s for s in svgs)
    assert html.count("<figcaption><strong>") == len(svgs)  # every plot has a title and a text alternative
    # every number a plot shows is also in a table: e.g. the speed point and the routing agreement
    assert "<td>22.00</td>" in html and "<td>38.50</td>" in html and "<td>0.9938</td>" in html
    assert "<td>2.90</td>" in html  # compile time: the whole compile run, not its parts added again


def test_comparison_table_lists_regressions_first(page):
    _, html = page
    comparison = html[html.index('id="comparison"'):]
    perf = comparison[comparison.index("<caption>run perf-now against latest run perf-earlier</caption>"):]
    states = re.findall(r"<tr class=\"([\w-]+)\"><td>([^<]+)</td>", perf[:perf.index("</table>")])
    regressed = [label for state, label in states if state == "regressed"]
    assert set(regressed) == {"tokens_per_s b1 128/32 modelled device", "tokens_per_s_per_user b1 128/32 modelled device",
                              "decode_ms b1 128/32 mean modelled device", "decode_ms b1 128/32 p99 modelled device"}
    assert [state for state, _ in states[:len(regressed)]] == ["regressed"] * len(regressed)  # 26 -> 22 t/s: x0.85


def test_bad_input(stored, tmp_path, capsys):
    _, db = stored
    assert main(["report", "--out", str(tmp_path / "r.html")]) == 2
    assert "name the runs to report" in capsys.readouterr().err
    assert main(["report", "--run", "nope", "--db", str(db), "--out", str(tmp_path / "r.html")]) == 2
    assert "'nope' is neither a results file nor a run id" in capsys.readouterr().err
    assert main(["report", "--latest", "--db", str(db), "--out", str(tmp_path)]) == 2
    assert not list(tmp_path.glob("*.html"))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
         "--v=0"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_opens_in_a_real_browser(page, tmp_path):
    out, _ = page
    url = out.resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    shot = out.parent / "report.png"
    run = subprocess.run([CHROMIUM, *FLAGS, *profile, "--window-size=1280,2400", f"--screenshot={shot}", url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Failed to load resource" in line]
    assert console == []
    dom = subprocess.run([CHROMIUM, *FLAGS, *profile, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    for anchor in SECTIONS:  # the browser parsed every section
        assert f'id="{anchor}"' in dom.stdout, anchor
    print(f"\nreport screenshot: {shot} ({shot.stat().st_size / 1024:.0f} KiB)")
