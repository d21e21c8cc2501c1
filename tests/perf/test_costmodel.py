"""The Wormhole cost model: its held-out checks, overrides, and how modelled time behaves."""
import pytest

from bench.calibrate import compare
from bench.profiler_csv import read_csv
from ground.errors import UserError
from tests.perf.conftest import modelled, shape_only
from tt_model.costmodel import CostModel


def test_example_rows_of_the_profiler_doc_within_2x(data_dir):
    """profiler-csv.md's rows: a tuned DRAM-sharded 32x2880x5120 BF16 x BFP8 HiFi2 matmul on 64 cores measured
    60 us, and an 8-chip Linear all-gather on one link measured 20 us. Neither is in the fit data."""
    rows = {r["op"]: r for r in compare(read_csv(data_dir / "ops_perf_results_example.csv")).rows}
    matmul, gather = rows["MatmulDeviceOperation"], rows["AllGatherAsyncDeviceOperation"]
    assert matmul["op_class"] == "matmul_sharded" and matmul["measured_ns"] == 60000
    assert 0.5 <= matmul["modelled_ns"] / 60000 <= 2.0
    # weights 2880 x 5120 BFP8 incl. exponents over 288 GB/s, plus the launch floor
    assert matmul["modelled_ns"] == pytest.approx(2880 * 5120 * (1 + 1 / 16) / 288e9 * 1e9 + 2291, rel=1e-3)
    assert 0.5 <= gather["modelled_ns"] / 20000 <= 2.0
    # Linear over 8 chips: 7 steps of one 32x360 bf16 shard over 1 link, 650 ns per hop
    assert gather["modelled_ns"] == pytest.approx(7 * (32 * 360 * 2 / 12.5e9 * 1e9 + 650), rel=1e-3)


def test_every_constant_names_its_source():
    def walk(node, path=""):
        if isinstance(node, dict) and "value" in node:
            yield path, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else key)

    constants = list(walk(CostModel.load().constants()))
    assert len(constants) > 40
    missing = [path for path, c in constants if not str(c.get("source", "")).strip()]
    assert not missing, missing


def test_override_file_changes_a_constant_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "chip.yaml"
    good.write_text("chip:\n  dram_bandwidth_gbps: {value: 250, source: measured on our n300}\n")
    model = CostModel.load(good)
    assert model.dram_bw == 250e9
    assert model.constants()["chip"]["dram_bandwidth_gbps"]["source"] == "measured on our n300"
    bad = tmp_path / "bad.yaml"
    bad.write_text("chip:\n  dram_bandwith_gbps: 250\n")
    with pytest.raises(UserError, match="unknown key 'chip.dram_bandwith_gbps'"):
        CostModel.load(bad)


def test_modelled_time_is_deterministic_and_linear_in_layers():
    runs = {n: modelled(shape_only("20b", n), "1x8", batch=1) for n in (1, 2, 3)}
    again = modelled(shape_only("20b", 2), "1x8", batch=1)
    assert again == runs[2]
    step = {n: runs[n][1][-1] for n in runs}
    assert step[3] - step[2] == pytest.approx(step[2] - step[1], rel=1e-9)
    assert runs[3][0] - runs[2][0] == pytest.approx(runs[2][0] - runs[1][0], rel=1e-9)


def test_batch_32_decode_gives_more_tokens_per_second_than_batch_1():
    checkpoint = shape_only("20b", 2)
    _, one, _ = modelled(checkpoint, "1x8", batch=1)
    _, many, _ = modelled(checkpoint, "1x8", batch=32)
    assert 32 / many[-1] > 1 / one[-1]
    assert many[-1] >= one[-1]  # each step is no faster with more users


def test_trace_removes_exactly_the_dispatch_overhead():
    checkpoint = shape_only("20b", 2)
    _, plain, ops = modelled(checkpoint, "1x8", batch=1, trace=False)
    _, traced, traced_ops = modelled(checkpoint, "1x8", batch=1, trace=True)
    assert ops == traced_ops > 50
    # step 0 compiles untraced; steps 1 (capture + replay) and 2 (replay) carry no per-op dispatch
    assert traced[0] == pytest.approx(plain[0])
    assert plain[2] - traced[2] == pytest.approx(ops * CostModel.load().dispatch_ns, rel=1e-9)
