"""gptoss-bench perf from the CLI on the bundled tiny model: files, field names, store, bad input."""
import csv
import json
import sqlite3

import pytest

from bench.cli import main

FIELDS = {"mesh", "batch", "isl", "osl", "timing", "ttft_ms", "decode_ms", "tokens_per_s_per_user", "tokens_per_s",
          "prefill_tokens_per_s", "compile_s", "pct_of_limit", "tier", "samples_ms"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_dir_module):
    out = tmp_path_factory.mktemp("perf")
    code = main(["perf", "--mesh", "1x1", "--batch", "1", "--isl", "32", "--osl", "4", "--repeats", "2",
                 "--out", str(out), "--db", str(out / "results.db"),
                 "--profile-csv", str(data_dir_module / "ops_perf_results_example.csv")])
    return code, out


@pytest.fixture(scope="module")
def data_dir_module():
    from tests.perf.conftest import DATA
    return DATA


def test_writes_results_with_the_documented_fields(smoke_run):
    code, out = smoke_run
    assert code == 0
    (path,) = out.glob("perf-smoke-1x1-*.json")
    data = json.loads(path.read_text())
    assert data["kind"] == "perf" and data["schema_version"] == 2
    assert data["provenance"]["backend"] == "emulated" and data["provenance"]["mesh"] == "1x1"
    modelled, host = data["points"]
    assert FIELDS <= set(modelled) and (modelled["timing"], modelled["clock"]) == ("modelled", "device")
    assert (host["timing"], host["clock"]) == ("measured", "host") and "pct_of_limit" not in host
    assert set(modelled["decode_ms"]) == {"mean", "p50", "p90", "p99"}
    # 2 runs x 4 decode steps, step 0 of each excluded; modelled steps are identical, to the picosecond
    assert len(modelled["samples_ms"]) == 6 and len(set(modelled["samples_ms"])) == 1
    assert modelled["tokens_per_s_per_user"] == pytest.approx(1e3 / modelled["decode_ms"]["mean"])
    assert modelled["ttft_ms"] == pytest.approx(modelled["first_token_ms"] / 1)
    assert 0 < modelled["pct_of_limit"] < 100 and modelled["tier"] in {"functional", "complete", "target",
                                                                       "below functional"}
    decode = next(b for b in modelled["breakdown"] if b["phase"] == "decode")
    cats = {c["category"] for c in decode["categories"]}
    assert {"attention", "experts", "router", "norms", "lm_head"} <= cats
    assert sum(c["share"] for c in decode["categories"]) == pytest.approx(1.0)
    assert decode["bound_shares"]["dispatch"] == 0  # decode replays a trace
    assert all(v["state"] == "pass" for v in data["verdicts"])
    # the device capacities the emulated run was held to; host-clock points carry none
    ready = modelled["readiness"]
    assert ready["dram_bytes_per_chip"] == 12 * (2**30 - 32 - ready["trace_region_bytes"])
    assert 0 < ready["peak_dram_bytes_per_chip"] < ready["dram_bytes_per_chip"]
    assert ready["l1_bytes_per_core"] == 1_399_232 and 0 < ready["peak_l1_bytes_per_core"] < 1_399_232
    assert 0 < ready["trace_bytes"] <= ready["trace_region_bytes"]
    assert ready["ops_per_decode_step"] == decode["ops"] and ready["unsafe_at_replay"] == 0
    assert host.get("readiness") is None


def test_the_run_is_in_the_store(smoke_run):
    _, out = smoke_run
    (path,) = out.glob("perf-*.json")
    run_id = json.loads(path.read_text())["run_id"]
    db = sqlite3.connect(out / "results.db")
    assert db.execute("SELECT kind FROM runs WHERE run_id = ?", (run_id,)).fetchone() == ("perf",)
    row = db.execute("SELECT value, samples FROM rows WHERE run_id = ? AND metric = 'decode_ms' AND stat = 'mean' "
                     "AND timing = 'modelled'", (run_id,)).fetchone()
    assert row[0] > 0 and len(json.loads(row[1])) == 6


def test_modelled_op_trace_and_profile_files(smoke_run):
    _, out = smoke_run
    (trace_csv,) = out.glob("ops_perf_results_*.csv")
    rows = list(csv.DictReader(trace_csv.open()))
    signposts = [r["OP CODE"] for r in rows if r["OP TYPE"] == "signpost"]
    assert signposts == ["PREFILL_START", "PREFILL_END", "DECODE_START"]
    ops = [r for r in rows if r["OP TYPE"] == "tt_dnn_device"]
    assert {r["DEVICE ARCH"] for r in ops} == {"wormhole_b0"} and all(int(r["DEVICE KERNEL DURATION [ns]"]) > 0
                                                                      for r in ops)
    (profile,) = out.glob("profile-*.json")
    data = json.loads(profile.read_text())
    assert [r["op"] for r in data["rows"]] == ["MatmulDeviceOperation", "AllGatherAsyncDeviceOperation"]
    assert [r["measured_ns"] for r in data["rows"]] == [60000.0, 20000.0]
    assert all(0.5 < r["modelled_ns"] / r["measured_ns"] < 2 for r in data["rows"])
    (measured,) = data["breakdown"]  # the hardware CSV as the same per-op breakdown (no signposts: decode)
    assert measured["total_ms"] == pytest.approx(0.08 + 0.0021)  # 60 + 20 us kernels, 1.2 + 0.9 us gaps
    assert {c["category"]: round(c["ms"], 4) for c in measured["categories"]} == {"other": 0.0612, "CCL": 0.0209}


@pytest.mark.parametrize("argv, message", [
    (["--repeats", "0"], "--repeats 0"),
    (["--size", "7b"], "--size '7b'"),
    (["--mesh", "3x8"], "num_local_experts=8 does not split over 3"),
    (["--isl", "4000", "--osl", "200"], "4200 exceeds the model's context of 4096"),
    (["--size", "120b", "--mesh", "1x1", "--batch", "32"], "--batch 32"),
    (["--osl", "1"], "--osl 1"),
    (["--batch", "x"], "--batch"),
])
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys):
    assert main(["perf", "--out", str(tmp_path), "--db", str(tmp_path / "r.db"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
