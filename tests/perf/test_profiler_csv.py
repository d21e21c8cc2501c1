"""ops_perf_results CSVs: written from a modelled run, read back; read from hand-built hardware-style files."""
import csv

import pytest
import torch

from bench.profiler_csv import COLUMNS, header, read_csv, write_csv
from ground.errors import UserError


def _modelled_records():
    from tt_model.backend import get_ttnn
    from tt_model.emulator import recording, scope, signpost

    ttnn = get_ttnn("emulated")
    ttnn.set_fabric_config(ttnn.FabricConfig.FABRIC_1D_RING)
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 2))
    try:
        x = ttnn.from_torch(torch.randn(32, 64), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)
        w = ttnn.from_torch(torch.randn(64, 128), dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=mesh,
                            mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=1))
        config = ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi2)
        with recording() as log:
            signpost("PREFILL_START")
            with scope("prefill/layer_0/attention"):
                y = ttnn.linear(x, w, compute_kernel_config=config)
                ttnn.all_gather(y, dim=1)
            signpost("DECODE_START")
            ttnn.add(x, x)
    finally:
        ttnn.close_mesh_device(mesh)
        ttnn.set_fabric_config(ttnn.FabricConfig.DISABLED)
    return log


def test_modelled_trace_round_trips(tmp_path):
    log = _modelled_records()
    path = write_csv(tmp_path / "ops_perf_results_x.csv", log.records, log.signposts)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == header() and header()[: len(COLUMNS)] == COLUMNS
    kinds = [(r["OP CODE"], r["OP TYPE"], r["DEVICE ID"]) for r in rows]
    assert kinds == [("PREFILL_START", "signpost", ""),
                     ("MatmulDeviceOperation", "tt_dnn_device", "0"), ("MatmulDeviceOperation", "tt_dnn_device", "1"),
                     ("AllGatherAsyncDeviceOperation", "tt_dnn_device", "0"),
                     ("AllGatherAsyncDeviceOperation", "tt_dnn_device", "1"),
                     ("DECODE_START", "signpost", ""),
                     ("BinaryNgDeviceOperation", "tt_dnn_device", "0"), ("BinaryNgDeviceOperation", "tt_dnn_device", "1")]
    mm = rows[1]
    assert (mm["DEVICE ARCH"], mm["MATH FIDELITY"], mm["INPUT_1_DATATYPE"]) == ("wormhole_b0", "HiFi2", "BFLOAT8_B")
    assert (mm["INPUT_0_Y_PAD[LOGICAL]"], mm["INPUT_1_X_PAD[LOGICAL]"]) == ("32[32]", "64[64]")
    assert mm["INPUT_1_MEMORY"] == "DEV_0_DRAM_INTERLEAVED" and rows[2]["INPUT_1_MEMORY"] == "DEV_1_DRAM_INTERLEAVED"
    linear = next(r for r in log.records if r.op == "linear")
    assert int(mm["DEVICE KERNEL DURATION [ns]"]) == round(linear.kernel_ns)
    assert int(mm["OP TO OP LATENCY [ns]"]) == 1525 and "prefill/layer_0/attention" in mm["ATTRIBUTES"]
    back = read_csv(path)
    assert [n for _, n in back.signposts] == ["PREFILL_START", "DECODE_START"]
    assert [p.record.op for p in back.between("DECODE_START", None)] == ["BinaryNgDeviceOperation"] * 2
    gather = back.ops[2].record
    assert (gather.ccl.kind, gather.ccl.group, gather.ccl.topology) == ("all_gather", 2, "Linear")
    assert back.ops[0].record.inputs[1].shape == (1, 1, 64, 64) and back.ops[0].measured_ns == round(linear.kernel_ns)


def test_reads_a_hardware_style_csv_built_from_the_documented_columns(tmp_path):
    cols = ["OP CODE", "OP TYPE", "GLOBAL CALL COUNT", "DEVICE ID", "ATTRIBUTES", "MATH FIDELITY", "CORE COUNT",
            "DEVICE KERNEL DURATION [ns]", "OP TO OP LATENCY [ns]", "INPUT_0_W_PAD[LOGICAL]", "INPUT_0_Z_PAD[LOGICAL]",
            "INPUT_0_Y_PAD[LOGICAL]", "INPUT_0_X_PAD[LOGICAL]", "INPUT_0_LAYOUT", "INPUT_0_DATATYPE", "INPUT_0_MEMORY"]
    rows = [["PREFILL_START", "signpost"] + [""] * 14,
            ["SoftmaxDeviceOperation", "tt_dnn_device", "1024", "3", "{}", "HiFi4", "64", "20149", "612",
             "1[1]", "20[20]", "32[19]", "32[19]", "TILE", "BFLOAT16", "DEV_3_L1_HEIGHT_SHARDED"],
            ["DECODE_START", "signpost"] + [""] * 14,
            ["LayerNormDeviceOperation", "tt_dnn_device", "2048", "3", "{}", "HiFi4", "1", "53450", "1964",
             "1[1]", "1[1]", "32[19]", "1280[1280]", "TILE", "BFLOAT16", "DEV_3_DRAM_INTERLEAVED"]]
    path = tmp_path / "ops_perf_results.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([cols, *rows])
    trace = read_csv(path)
    soft, norm = trace.ops
    assert (soft.device, soft.measured_ns, soft.op_to_op_ns, soft.signpost) == (3, 20149, 612, "PREFILL_START")
    t = soft.record.inputs[0]
    assert (t.shape, t.logical, t.buffer, t.sharded) == ((1, 20, 32, 32), (1, 20, 19, 19), "L1", True)
    assert [p.record.op for p in trace.between("DECODE_START", None)] == ["LayerNormDeviceOperation"]
    with pytest.raises(UserError, match="no signpost 'DECODE_END'"):
        trace.between("DECODE_END", None)


def test_not_a_profiler_csv_is_one_clear_error(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="not an ops_perf_results CSV"):
        read_csv(path)
    with pytest.raises(UserError, match="cannot be read"):
        read_csv(tmp_path / "missing.csv")
