"""The accuracy budget at real width (issue 18), measured the way a user meets it:

    gptoss-bench make-model --preset 20b --layers 2 --out M
    HF_MODEL=M gptoss-bench accuracy --suite gpt-oss-20b

must finish in under 10 minutes on a 2-core host with a peak RSS under 12 GiB, and the projection
it prints for the published 24-layer 20B and 36-layer 120B reference must be under an hour each.
The CLI runs in a fresh process whose own peak RSS is read at exit; the host's load average is
sampled throughout and printed with the figures, since other work on a shared host moves them.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
import threading

import pytest

BUDGET_SECONDS = 600
BUDGET_PEAK_GIB = 12.0
PROJECTION_BUDGET_SECONDS = 3600

# The CLI in this process, its own peak RSS written at exit (a child's RUSAGE_CHILDREN would also
# count make-model, which ran earlier from the same test process).
RUN_CLI = textwrap.dedent("""
    import json, resource, sys, time
    from bench.cli import main
    start = time.perf_counter()
    code = main(sys.argv[2:])
    with open(sys.argv[1], "w") as f:
        json.dump({"code": code, "seconds": time.perf_counter() - start,
                   "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}, f)
""")


class LoadSampler:
    """The 1-minute load average every few seconds while a run goes on."""

    def __init__(self, every: float = 5.0):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self):
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def describe(self) -> str:
        return (f"load average mean {sum(self.samples) / len(self.samples):.1f}, max {max(self.samples):.1f} "
                f"on {os.cpu_count()} cores")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("budget")
    model = root / "20b-2layers"
    made = subprocess.run([sys.executable, "-m", "bench.cli", "make-model", "--preset", "20b", "--layers", "2",
                           "--out", str(model)], capture_output=True, text=True, timeout=1800)
    assert made.returncode == 0, made.stderr[-2000:]
    env = dict(os.environ, HF_MODEL=str(model), GPTOSS_BENCH_CACHE=str(root / "cache"))
    stats = root / "stats.json"
    argv = ["accuracy", "--suite", "gpt-oss-20b", "--out", str(root / "out"), "--db", str(root / "results.db")]
    with LoadSampler() as load:
        proc = subprocess.run([sys.executable, "-c", RUN_CLI, str(stats), *argv], capture_output=True, text=True,
                              env=env, timeout=3 * BUDGET_SECONDS)
    measured = json.loads(stats.read_text())
    from bench.results import load_result

    result = load_result(next((root / "out").glob("accuracy-gpt-oss-20b-1x8-*.json")))
    print(f"\naccuracy --suite gpt-oss-20b on a 2-layer 20B-layout checkpoint: {measured['seconds'] / 60:.1f} min, "
          f"peak RSS {measured['peak_gib']:.1f} GiB (after the reference phase "
          f"{result.provenance.plan.reference_peak_gib:.1f} GiB); {load.describe()}")
    yield proc, measured, result


def test_suite_finishes_within_budget(run):
    proc, measured, result = run
    # Random weights fail the accuracy thresholds (exit 1); anything else (2 bad input, 3 crash) is a bug.
    assert measured["code"] in (0, 1), proc.stderr[-3000:]
    assert {r.side for r in result.rows_of("wall_seconds")} == {"reference", "device"}
    assert measured["seconds"] < BUDGET_SECONDS
    plan = result.provenance.plan
    assert measured["peak_gib"] < BUDGET_PEAK_GIB, (
        f"peak RSS {measured['peak_gib']:.1f} GiB: {plan.reference_peak_gib:.1f} GiB after the reference phase, "
        "the rest is the emulated device holding the model's weights")


def test_reference_plan_estimate_and_projections(run):
    proc, _, result = run
    plan = result.provenance.plan
    assert (plan.reference_source, plan.decode) == ("stream", "forced")
    assert (plan.decode_steps, plan.teacher_forcing_tokens) == (8, 32)
    assert "emulated caps" in plan.emulated_caps
    assert plan.reference_peak_gib < BUDGET_PEAK_GIB
    ratio = plan.reference_seconds / plan.estimated_seconds
    print(f"\nreference: estimated {plan.estimated_seconds:.0f} s, took {plan.reference_seconds:.0f} s "
          f"(x{ratio:.2f}); peak estimated {plan.estimated_peak_gib:.1f} GiB, measured {plan.reference_peak_gib:.1f} GiB")
    assert 1 / 3 < ratio < 3
    printed = re.search(r"projected for the published models on this host .*: gpt-oss-20b \(24 layers\) (.+?), "
                        r"peak .*gpt-oss-120b \(36 layers\) (.+?), peak", proc.stderr)
    assert printed, proc.stderr[:3000]
    print(f"projected on this host: gpt-oss-20b {printed[1]}, gpt-oss-120b {printed[2]}")
    assert set(plan.projected_seconds) == {"gpt-oss-20b", "gpt-oss-120b"}
    projected = plan.projected_seconds
    assert 0 < projected["gpt-oss-20b"] < projected["gpt-oss-120b"] < PROJECTION_BUDGET_SECONDS
