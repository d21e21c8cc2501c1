"""Op log: one record per executed op. Disabled by default; when disabled an op pays one flag check."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OpRecord:
    name: str
    inputs: list[tuple[tuple[int, ...], str]]
    outputs: list[tuple[tuple[int, ...], str]]
    mesh: tuple[int, int] | None
    placement: str
    bytes_read: float
    bytes_written: float
    flops: float = 0.0
    bytes_per_link: float = 0.0


@dataclass
class OpLog:
    enabled: bool = False
    records: list[OpRecord] = field(default_factory=list)

    def clear(self) -> None:
        self.records.clear()


OPLOG = OpLog()


def enable_op_log(enabled: bool = True) -> OpLog:
    OPLOG.enabled = enabled
    return OPLOG


def record(name: str, inputs, outputs, flops: float = 0.0, bytes_per_link: float = 0.0) -> None:
    """Append a record; callers check ``OPLOG.enabled`` first so a disabled log costs nothing."""
    ins = [t for t in inputs if hasattr(t, "_shards")]
    outs = [t for t in outputs if hasattr(t, "_shards")]
    first = (ins or outs or [None])[0]
    mesh = first.device() if first is not None else None
    OPLOG.records.append(OpRecord(
        name=name,
        inputs=[(tuple(t.shape), t.dtype.name) for t in ins],
        outputs=[(tuple(t.shape), t.dtype.name) for t in outs],
        mesh=tuple(mesh.shape) if mesh is not None else None,
        placement=first.placement if first is not None else "host",
        bytes_read=float(sum(t.nbytes_per_device() for t in ins)),
        bytes_written=float(sum(t.nbytes_per_device() for t in outs)),
        flops=float(flops),
        bytes_per_link=float(bytes_per_link),
    ))
