"""tt-metal's device profiler CSV (``ops_perf_results``), both ways.

* ``read_csv(path)`` parses a CSV a hardware run wrote (``python -m tracy -r ...``) into ``ProfiledOp`` rows: the
  op as a cost-model record (``OpRecord``: shapes, dtypes, memory, fidelity, cores, CCL attributes) plus what the
  device measured (DEVICE KERNEL DURATION, OP TO OP LATENCY), and the signposts between them.
* ``write_csv(path, records, signposts)`` writes a modelled op trace in the same columns (one row per op per
  device, modelled kernel duration and op-to-op latency, DEVICE ARCH wormhole_b0, signpost rows), so
  ``tt-perf-report`` and anything else that reads hardware CSVs reads modelled runs alike.

Column names and cell formats: ttnn 0.81.1 ``tracy/process_ops_logs.py`` as documented in profiler-csv.md
(shape cells ``padded[logical]``, memory ``DEV_<id>_<buffer>_<layout>``, commas in cells written as ``;``).
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ground.errors import UserError
from tt_model.costmodel import BINARY_OPS
from tt_model.emulator.records import CclInfo, OpRecord, TensorInfo

COLUMNS = [
    "OP CODE", "OP TYPE", "GLOBAL CALL COUNT", "DEVICE ID", "DEVICE ARCH", "ATTRIBUTES", "MATH FIDELITY",
    "CORE COUNT", "AVAILABLE WORKER CORE COUNT", "SUB DEVICE ID", "PARALLELIZATION STRATEGY", "HOST START TS",
    "HOST END TS", "HOST DURATION [ns]", "DEVICE FW START CYCLE", "DEVICE FW END CYCLE", "OP TO OP LATENCY [ns]",
    "OP TO OP LATENCY BR/NRISC START [ns]", "DEVICE FW DURATION [ns]", "DEVICE KERNEL DURATION [ns]",
    "DEVICE KERNEL DURATION DM START [ns]", "DEVICE KERNEL DURATION PER CORE MIN [ns]",
    "DEVICE KERNEL DURATION PER CORE MAX [ns]", "DEVICE KERNEL DURATION PER CORE AVG [ns]",
    "DEVICE KERNEL FIRST TO LAST START [ns]", "DEVICE BRISC KERNEL DURATION [ns]",
    "DEVICE NCRISC KERNEL DURATION [ns]", "DEVICE TRISC0 KERNEL DURATION [ns]", "DEVICE TRISC1 KERNEL DURATION [ns]",
    "DEVICE TRISC2 KERNEL DURATION [ns]", "DEVICE ERISC KERNEL DURATION [ns]", "DEVICE COMPUTE CB WAIT FRONT [ns]",
    "DEVICE COMPUTE CB RESERVE BACK [ns]", "DISPATCH TOTAL CQ CMD OP TIME [ns]", "DISPATCH GO SEND WAIT TIME [ns]",
]
TAIL = [
    "METAL TRACE ID", "METAL TRACE REPLAY SESSION ID", "COMPUTE KERNEL SOURCE", "COMPUTE KERNEL HASH",
    "DATA MOVEMENT KERNEL SOURCE", "DATA MOVEMENT KERNEL HASH", "PROGRAM HASH", "PROGRAM CACHE HIT", "PM IDEAL [ns]",
    "PM COMPUTE [ns]", "PM BANDWIDTH [ns]", "PM REQ I BW", "PM REQ O BW", "PM FPU UTIL (%)", "NOC UTIL (%)",
    "MULTICAST NOC UTIL (%)", "DRAM BW UTIL (%)", "DRAM BW UTIL PER CTRL (%)", "ETH BW UTIL (%)", "NPE CONG IMPACT (%)",
]
TENSOR_FIELDS = ("W_PAD[LOGICAL]", "Z_PAD[LOGICAL]", "Y_PAD[LOGICAL]", "X_PAD[LOGICAL]", "LAYOUT", "DATATYPE", "MEMORY")
MAX_INPUTS, MAX_OUTPUTS = 3, 2

# ttnn op name -> the device operation name the profiler shows for it (ttnn 0.81.1 program names).
OP_CODES = {
    "linear": "MatmulDeviceOperation", "matmul": "MatmulDeviceOperation",
    "rms_norm": "LayerNormDeviceOperation", "softmax": "SoftmaxDeviceOperation", "topk": "TopKDeviceOperation",
    "embedding": "EmbeddingsDeviceOperation", "permute": "PermuteDeviceOperation",
    "transpose": "TransposeDeviceOperation", "reshape": "ReshapeDeviceOperation", "slice": "SliceDeviceOperation",
    "concat": "ConcatDeviceOperation", "pad": "PadDeviceOperation", "repeat": "RepeatDeviceOperation",
    "repeat_interleave": "RepeatDeviceOperation", "scatter": "ScatterDeviceOperation",
    "typecast": "TypecastDeviceOperation", "update_cache": "UpdateCache", "fill_cache": "FillCache",
    "paged_update_cache": "PagedUpdateCacheDeviceOperation", "all_gather": "AllGatherAsyncDeviceOperation",
    "reduce_scatter": "ReduceScatterMinimalAsyncDeviceOperation", "all_reduce": "AllReduceAsyncDeviceOperation",
    "sum": "ReduceDeviceOperation", "mean": "ReduceDeviceOperation", "max": "ReduceDeviceOperation",
    "min": "ReduceDeviceOperation", "argmax": "ArgMaxDeviceOperation", "to_layout": "TilizeDeviceOperation",
    "to_memory_config": "CopyDeviceOperation", "scaled_dot_product_attention": "SDPAOperation",
    "scaled_dot_product_attention_decode": "SdpaDecodeDeviceOperation",
}


@dataclass
class ProfiledOp:
    record: OpRecord
    device: int
    measured_ns: float          # DEVICE KERNEL DURATION [ns]
    op_to_op_ns: float          # OP TO OP LATENCY [ns]
    signpost: str | None = None  # the last signpost before this op


@dataclass
class ProfilerTrace:
    ops: list[ProfiledOp]
    signposts: list[tuple[int, str]]  # (index of the next op, name)
    source: str

    def between(self, start: str | None, end: str | None) -> list[ProfiledOp]:
        """Ops after signpost ``start`` (its last occurrence) and before ``end`` (tt-perf-report's selection)."""
        first, last = 0, len(self.ops)
        if start is not None:
            hits = [i for i, name in self.signposts if name == start]
            if not hits:
                raise UserError(f"{self.source}: no signpost {start!r}; signposts: "
                                f"{', '.join(sorted({n for _, n in self.signposts})) or 'none'}")
            first = hits[-1]
        if end is not None:
            ends = [i for i, name in self.signposts if name == end and i >= first]
            last = ends[0] if ends else last
        return self.ops[first:last]


# ----------------------------------------------------------------------------- reading
def _dim(cell: str) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"\s*(\d+)(?:\[(\d+)\])?\s*", cell or "")
    if not match:
        return None, None
    padded = int(match.group(1))
    return padded, int(match.group(2)) if match.group(2) else padded


def _tensor(row: dict, prefix: str) -> TensorInfo | None:
    dims = [_dim(row.get(f"{prefix}_{f}", "")) for f in TENSOR_FIELDS[:4]]
    if any(d[0] is None for d in dims):
        return None
    memory = (row.get(f"{prefix}_MEMORY") or "").upper()
    padded = tuple(d[0] for d in dims)
    logical = tuple(d[1] for d in dims)
    return TensorInfo(shape=padded, dtype=(row.get(f"{prefix}_DATATYPE") or "BFLOAT16").upper(),
                      layout=(row.get(f"{prefix}_LAYOUT") or "TILE").upper(),
                      buffer="L1" if "_L1" in memory else "DRAM", sharded="SHARDED" in memory,
                      logical=logical if logical != padded else None)


def attributes(cell: str) -> dict[str, str]:
    """ATTRIBUTES cell {'key': 'value'; ...} -> dict (values with nested ';' kept whole)."""
    return dict(re.findall(r"'([^']+)':\s*'([^']*)'", cell or ""))


def _number(cell, default=0.0) -> float:
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def _ccl(code: str, attrs: dict) -> CclInfo | None:
    kind = next((k for frag, k in (("AllGather", "all_gather"), ("ReduceScatter", "reduce_scatter"),
                                   ("AllReduce", "all_reduce")) if frag in code), None)
    if kind is None:
        return None
    group = int(_number(attrs.get("ring_size"), 1)) or 1
    topology = attrs.get("topology", "Topology::Linear").split("::")[-1]
    links = int(_number(attrs.get("num_links"), 0)) or None
    return CclInfo(kind=kind, group=group, topology=topology, links=links)


def _program_config(attrs: dict) -> bool:
    value = attrs.get("program_config") or attrs.get("config") or ""
    return bool(value) and value != "std::nullopt" and "Default" not in value


def read_csv(path: str | Path) -> ProfilerTrace:
    path = Path(path)
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise UserError(f"--profile-csv {str(path)!r}: cannot be read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = {"OP CODE", "OP TYPE", "DEVICE KERNEL DURATION [ns]"} - set(reader.fieldnames or ())
        if missing:
            raise UserError(f"--profile-csv {str(path)!r}: not an ops_perf_results CSV (no column "
                            f"{', '.join(sorted(missing))})")
        ops, signposts, last = [], [], None
        for row in reader:
            code = (row.get("OP CODE") or "").strip()
            if (row.get("OP TYPE") or "").strip() == "signpost":
                signposts.append((len(ops), code))
                last = code
                continue
            ops.append(_profiled(row, code, last))
    return ProfilerTrace(ops, signposts, str(path))


def _profiled(row: dict, code: str, signpost: str | None) -> ProfiledOp:
    attrs = attributes(row.get("ATTRIBUTES", ""))
    inputs = tuple(t for t in (_tensor(row, f"INPUT_{i}") for i in range(MAX_INPUTS)) if t is not None)
    outputs = tuple(t for t in (_tensor(row, f"OUTPUT_{i}") for i in range(MAX_OUTPUTS)) if t is not None)
    fidelity = (row.get("MATH FIDELITY") or "").strip() or None
    cores = int(_number(row.get("CORE COUNT"), 0)) or None
    record = OpRecord(op=code, inputs=inputs, outputs=outputs, mesh=None, devices=1, math_fidelity=fidelity,
                      program_config=_program_config(attrs), ccl=_ccl(code, attrs), cores=cores,
                      traced=bool((row.get("METAL TRACE ID") or "").strip()))
    return ProfiledOp(record, int(_number(row.get("DEVICE ID"), 0)), _number(row.get("DEVICE KERNEL DURATION [ns]")),
                      _number(row.get("OP TO OP LATENCY [ns]")), signpost)


# ----------------------------------------------------------------------------- writing
def op_code(op: str) -> str:
    if op in OP_CODES:
        return OP_CODES[op]
    if op in BINARY_OPS:
        return "BinaryNgDeviceOperation"
    return "UnaryDeviceOperation" if op.islower() else op


def _shape_cells(t: TensorInfo) -> list[str]:
    dims = (1,) * (4 - len(t.shape)) + tuple(t.shape[-4:]) if len(t.shape) <= 4 else (
        math.prod(t.shape[:-3]),) + tuple(t.shape[-3:])
    logical = t.logical or t.shape
    ldims = (1,) * (4 - len(logical)) + tuple(logical[-4:]) if len(logical) <= 4 else (
        math.prod(logical[:-3]),) + tuple(logical[-3:])
    return [f"{p}[{l}]" for p, l in zip(dims, ldims)]


def _tensor_cells(t: TensorInfo | None, device: int) -> list[str]:
    if t is None:
        return [""] * len(TENSOR_FIELDS)
    layout = "HEIGHT_SHARDED" if t.sharded else "INTERLEAVED"
    return [*_shape_cells(t), t.layout, t.dtype, f"DEV_{device}_{t.buffer}_{layout}"]


def _attributes(r: OpRecord) -> str:
    attrs = {"scope": r.scope or "", "program_config": "configured" if r.program_config else "std::nullopt",
             "op_class": r.op_class, "bound": r.bound}
    if r.ccl is not None:
        attrs.update(ring_size=str(r.ccl.group), num_links=str(r.ccl.links or r.est_cores or 1),
                     topology=f"Topology::{r.ccl.topology}", cluster_axis=str(r.ccl.cluster_axis))
    return "{" + "; ".join(f"'{k}': '{v}'" for k, v in attrs.items()) + "}"


def header() -> list[str]:
    tensors = [f"{kind}_{i}_{f}" for kind, count in (("INPUT", MAX_INPUTS), ("OUTPUT", MAX_OUTPUTS))
               for i in range(count) for f in TENSOR_FIELDS]
    return COLUMNS + tensors + TAIL


def write_csv(path: str | Path, records, signposts=()) -> Path:
    """One row per op per device; ``signposts`` are (index into ``records``, name) pairs. Written to a temp
    file renamed into place, so an interrupt never leaves half a CSV."""
    from ground.fsutil import atomic_write

    marks: dict[int, list[str]] = {}
    for index, name in signposts:
        marks.setdefault(index, []).append(name)
    columns = header()

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            _write_rows(csv.writer(handle), records, marks, columns)

    return atomic_write(path, write, fsync=False)


def _write_rows(writer, records, marks: dict[int, list[str]], columns: list[str]) -> None:
    writer.writerow(columns)
    call, host_ts = 0, 0.0
    for index, r in enumerate(records):
        for name in marks.get(index, []):
            writer.writerow(_signpost_row(name, columns, host_ts))
        if r.host or r.op_class in ("view", ""):
            continue  # no kernel ran: no profiler row
        call += 1024
        host_ts += r.dispatch_ns + r.kernel_ns
        for device in range(r.devices):
            writer.writerow(_row(r, device, call, host_ts, columns))
    for name in marks.get(len(records), []):
        writer.writerow(_signpost_row(name, columns, host_ts))


def _signpost_row(name: str, columns: list[str], host_ts: float) -> list[str]:
    cells = dict.fromkeys(columns, "")
    cells.update({"OP CODE": name, "OP TYPE": "signpost", "HOST START TS": f"{host_ts:.0f}"})
    return [cells[c] for c in columns]


def _row(r: OpRecord, device: int, call: int, host_ts: float, columns: list[str]) -> list[str]:
    cells = dict.fromkeys(columns, "")
    kernel = round(r.kernel_ns)
    cores = r.est_cores or 1
    cells.update({
        "OP CODE": op_code(r.op), "OP TYPE": "tt_dnn_device", "GLOBAL CALL COUNT": str(call),
        "DEVICE ID": str(device), "DEVICE ARCH": "wormhole_b0", "ATTRIBUTES": _attributes(r),
        "MATH FIDELITY": r.math_fidelity or "", "CORE COUNT": str(cores), "AVAILABLE WORKER CORE COUNT": "64",
        "PARALLELIZATION STRATEGY": "", "HOST START TS": f"{host_ts:.0f}", "HOST END TS": f"{host_ts:.0f}",
        "HOST DURATION [ns]": f"{r.dispatch_ns:.0f}", "OP TO OP LATENCY [ns]": f"{r.dispatch_ns:.0f}",
        "DEVICE FW DURATION [ns]": str(kernel), "DEVICE KERNEL DURATION [ns]": str(kernel),
        "METAL TRACE ID": "1" if r.traced else "",
    })
    for i in range(MAX_INPUTS):
        t = r.inputs[i] if i < len(r.inputs) else None
        cells.update(zip([f"INPUT_{i}_{f}" for f in TENSOR_FIELDS], _tensor_cells(t, device)))
    for i in range(MAX_OUTPUTS):
        t = r.outputs[i] if i < len(r.outputs) else None
        cells.update(zip([f"OUTPUT_{i}_{f}" for f in TENSOR_FIELDS], _tensor_cells(t, device)))
    return [cells[c] for c in columns]
