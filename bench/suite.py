"""Accuracy suites: YAML files checked against a typed schema (unknown keys are errors).

A suite NAME resolves to ``suites/NAME.yaml`` shipped in the package; anything that looks
like a path (has a separator or ends in .yaml/.yml) is read as a file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ground.errors import UserError

_MESH = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")


def _check_meshes(meshes: list[str] | None) -> list[str] | None:
    for mesh in meshes or ():
        if not _MESH.match(mesh):
            raise ValueError(f"mesh {mesh!r} is not ROWSxCOLS such as 1x8 or 4x8")
    return meshes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dtypes(_Strict):
    experts: Literal["bfloat4_b", "bfloat8_b"] = "bfloat4_b"
    attention: Literal["bfloat16", "bfloat8_b", "bfloat4_b"] = "bfloat8_b"
    lm_head: Literal["bfloat16", "bfloat8_b", "bfloat4_b"] = "bfloat8_b"
    activations: Literal["bfloat16", "float32"] = "bfloat16"

    def precision(self):
        """These device dtypes as the tt_model Precision they stand for."""
        from tt_model.precision import Precision

        return Precision(expert_weights=self.experts, attention_weights=self.attention, lm_head_weights=self.lm_head,
                         activations=self.activations)


class Prompt(_Strict):
    """Exactly one of ``text`` (inline), ``text_file`` or ``tokens_file`` (JSON list of ids)."""

    text: str | None = None
    text_file: str | None = None
    tokens_file: str | None = None

    def model_post_init(self, _context) -> None:
        given = [k for k in ("text", "text_file", "tokens_file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a prompt needs exactly one of text, text_file, tokens_file (got {given or 'none'})")


class TeacherForcing(_Strict):
    """Teacher-forced next-token metrics over a corpus split or a text file, in 32-token segments."""

    corpus: str | None = Field(default="eval", description="bench.corpus split: train, heldout, eval")
    text_file: str | None = None
    tokens: int = Field(default=64, gt=0)
    segment: int = Field(default=32, gt=0)


class EmulatedCaps(_Strict):
    """Less work for the device side when it is the host emulator, which runs every op of every
    decode step on the CPU (about 0.5 s a step for two 20B-width layers on 2 cores). Each cap is the
    most of its count an emulated run does (None: the suite's); the reference follows, and the results
    state the caps. On ttnn the suite's counts run."""

    decode_steps: int | None = Field(default=None, ge=0)
    teacher_forcing_tokens: int | None = Field(default=None, gt=0)


class ReferenceOptions(_Strict):
    """How the HF reference gets the tokens of its decode phases (prompt decode steps and the greedy
    teacher-forcing source): its own greedy choices, one pass over the layers per token; or tokens
    fixed in advance (held-out text), all in one pass. auto: greedy when the layers fit in RAM."""

    decode: Literal["auto", "greedy", "forced"] = "auto"


class PhasePcc(_Strict):
    """Per-layer PCC minima for one phase (prefill or decode), per captured sub-module."""

    layer_out: float = Field(ge=-1, le=1)
    attention: float | None = Field(default=None, ge=-1, le=1)
    router_logits: float | None = Field(default=None, ge=-1, le=1)
    moe_out: float | None = Field(default=None, ge=-1, le=1)
    norms: float | None = Field(default=None, ge=-1, le=1)


class LayerPccThresholds(_Strict):
    prefill: PhasePcc
    decode: PhasePcc


class RoutingThresholds(_Strict):
    exact_min: float = Field(ge=0, le=1)
    overlap_min: float = Field(ge=0, le=1)


class Thresholds(_Strict):
    layer_pcc: LayerPccThresholds
    top1_min: float = Field(ge=0, le=1)
    top5_min: float = Field(ge=0, le=1)
    routing: RoutingThresholds
    kl_max: float = Field(gt=0)


class TaskScores(_Strict):
    """lm-eval tasks scored on the reference and the device model (bench.eval); a task passes when
    device / reference >= 1 - tolerance (tt-inference-server's rule)."""

    names: list[str] = Field(min_length=1, description="lm-eval task or group names, e.g. gptoss_tiny")
    tolerance: float = Field(default=0.05, ge=0, lt=1)
    limit: float | None = Field(default=None, gt=0, description="documents per task (a fraction when < 1)")
    num_fewshot: int | None = Field(default=None, ge=0)
    model_args: dict[str, str | int | float | bool] = Field(default_factory=dict, description="both sides")


class PerfSweep(_Strict):
    """Speed points (bench.perf): every mesh x batch x ISL x OSL. ``size`` names the full-size config modelled
    without weights (shape-only, emulator) when no checkpoint is given by --model or $HF_MODEL."""

    size: Literal["20b", "120b"] | None = None
    meshes: list[str] | None = Field(default=None, description="default: the suite's meshes")
    batch: list[int] = Field(default=[1], min_length=1)
    isl: list[int] = Field(default=[128], min_length=1)
    osl: list[int] = Field(default=[128], min_length=1)
    repeats: int = Field(default=1, ge=1)
    warmup: int = Field(default=0, ge=0)
    trace: bool = True

    @field_validator("batch", "isl", "osl")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if any(v <= 0 for v in values):
            raise ValueError(f"must be positive, got {values}")
        return values

    @field_validator("meshes")
    @classmethod
    def _meshes(cls, meshes: list[str] | None) -> list[str] | None:
        return _check_meshes(meshes)


class Suite(_Strict):
    name: str
    description: str = ""
    model: str = Field(description="preset name (tiny), a checkpoint path, or $HF_MODEL")
    meshes: list[str] = Field(min_length=1)
    dtypes: Dtypes = Dtypes()
    prompts: list[Prompt] = Field(min_length=1)
    prefill_lengths: list[int] = Field(min_length=1)
    decode_steps: int = Field(ge=0)
    batch_size: int = Field(default=1, gt=0)
    teacher_forcing: TeacherForcing = TeacherForcing()
    reference: ReferenceOptions = ReferenceOptions()
    emulated: EmulatedCaps = EmulatedCaps()
    thresholds: Thresholds
    tasks: TaskScores | None = None
    perf: PerfSweep | None = None

    @field_validator("meshes")
    @classmethod
    def _meshes(cls, meshes: list[str] | None) -> list[str] | None:
        return _check_meshes(meshes)

    @field_validator("prefill_lengths")
    @classmethod
    def _lengths(cls, lengths: list[int]) -> list[int]:
        bad = [n for n in lengths if n <= 0]
        if bad:
            raise ValueError(f"prefill lengths must be positive, got {bad}")
        return lengths

    def mesh_shapes(self) -> list[tuple[int, int]]:
        return [tuple(int(v) for v in _MESH.match(m).groups()) for m in self.meshes]  # type: ignore[misc]


class LoadedSuite(BaseModel):
    """A validated suite plus where it came from (relative prompt paths resolve against ``source.parent``)."""

    model_config = ConfigDict(frozen=True)
    suite: Suite
    source: Path
    hash: str

    def resolve(self, relative: str) -> Path:
        return (self.source.parent / relative).resolve()


def suite_hash(suite: Suite) -> str:
    # A suite that lists no lm-eval tasks keeps the hash it had before suites could list them.
    data = suite.model_dump(mode="json", exclude={k for k in ("tasks", "perf") if getattr(suite, k) is None} or None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def available_suites() -> list[str]:
    root = resources.files("suites")
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def _suite_path(name_or_path: str) -> Path:
    looks_like_path = "/" in name_or_path or name_or_path.endswith((".yaml", ".yml"))
    if looks_like_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise UserError(f"suite file {name_or_path!r} does not exist")
        return path
    shipped = resources.files("suites") / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise UserError(f"unknown suite {name_or_path!r}; available: {', '.join(available_suites())}")
    return Path(str(shipped))


def _describe(error: dict, model: type[BaseModel]) -> str:
    loc = [str(p) for p in error["loc"]]
    where = ".".join(loc[:-1]) or "suite"
    if error["type"] == "extra_forbidden":
        key = loc[-1]
        hint = difflib.get_close_matches(key, _fields_at(model, error["loc"][:-1]), n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"unknown key {key!r} in {where}{suggestion}"
    if error["type"] == "missing":
        return f"missing key {loc[-1]!r} in {where}"
    return f"{'.'.join(loc) or 'suite'}: {error['msg']} (got {error.get('input')!r})"


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the sub-model at ``loc`` (list indices skipped), for did-you-mean hints."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        annotation = current.model_fields[part].annotation if part in current.model_fields else None
        args = getattr(annotation, "__args__", ()) or (annotation,)
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(current.model_fields) if current else []


def parse_suite(data: object, source: str) -> Suite:
    if not isinstance(data, dict):
        raise UserError(f"{source}: a suite is a YAML mapping, got {type(data).__name__}")
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # typos first
        problems = "; ".join(_describe(e, Suite) for e in errors)
        raise UserError(f"{source}: {problems}") from None


def load_suite(name_or_path: str) -> LoadedSuite:
    path = _suite_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (a suite is YAML)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    suite = parse_suite(data, str(path))
    return LoadedSuite(suite=suite, source=path.resolve(), hash=suite_hash(suite))
