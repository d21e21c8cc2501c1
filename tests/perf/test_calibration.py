"""The cost model against 1872 ops measured on one Wormhole (tenstorrent/tt-perf-report tests/data/
wh_clip_encoder_2.csv; tests/data/wh_clip_encoder_2.reduced.csv keeps the columns the model reads)."""
import pytest

from bench.calibrate import GATED_ROWS, compare, fit
from bench.profiler_csv import read_csv
from tt_model.costmodel import CostModel


@pytest.fixture(scope="module")
def clip(data_dir_module):
    return read_csv(data_dir_module / "wh_clip_encoder_2.reduced.csv")


@pytest.fixture(scope="module")
def data_dir_module():
    from tests.perf.conftest import DATA
    return DATA


def test_the_file_is_the_published_one(clip):
    assert len(clip.ops) == 1872
    codes = {p.record.op for p in clip.ops}
    assert {"MinimalMatmulOp", "Matmul", "BinaryNgDeviceOperation", "LayerNormDeviceOperation",
            "SoftmaxDeviceOperation", "TransposeDeviceOperation", "ReshapeDeviceOperation"} <= codes
    assert sum(p.measured_ns for p in clip.ops) == 63218148


def test_a_pure_roofline_is_far_too_optimistic(clip):
    roofline = CostModel.load({"classes": {c: {"latency_ns": {"value": 0}, "efficiency": {"value": 1}}
                                           for c in CostModel.load().classes}})
    by_class = {c["op_class"]: c for c in compare(clip, roofline).classes}
    assert by_class["norm"]["median_ratio"] < 1 / 40 and by_class["softmax"]["median_ratio"] < 1 / 40
    assert by_class["matmul_configured"]["median_ratio"] < 1 / 3


def test_every_class_with_50_rows_within_a_third_and_the_total_within_25_percent(clip):
    result = compare(clip)
    gated = result.gated()
    assert {c["op_class"] for c in gated} == {"binary", "matmul_configured", "transpose", "reshape", "norm",
                                              "matmul_batched", "softmax", "unary"}
    for c in gated:
        assert c["rows"] >= GATED_ROWS and 0.67 <= c["median_ratio"] <= 1.5, c
    assert abs(result.total_error) <= 0.25


def test_the_shipped_constants_are_the_fit_of_this_file(clip):
    model = CostModel.load()
    for f in fit(clip):
        shipped = model.classes[f.op_class]
        assert shipped["latency_ns"]["value"] == pytest.approx(f.latency_ns, abs=1.0), f.op_class
        assert shipped["efficiency"]["value"] == pytest.approx(f.efficiency, abs=1e-4), f.op_class
        assert "wh_clip_encoder_2.csv" in shipped["latency_ns"]["source"]


def test_default_core_rules_reproduce_the_measured_core_counts(clip):
    """The emulator has no CORE COUNT: its rules per class must give what the device used."""
    from dataclasses import replace

    model = CostModel.load()
    hits = total = 0
    for p in clip.ops:
        cls = model.op_class(p.record)
        if cls in ("matmul", "matmul_batched", "matmul_configured", "norm", "softmax", "binary", "unary", "transpose"):
            total += 1
            hits += model.cores(replace(p.record, cores=None), cls) == p.record.cores
    assert total == 1608 and hits == total
