"""model_args of the two lm-eval models, typed: an unknown or malformed argument is one line naming it.

lm-eval's convention (``pretrained=DIR,batch_size=16,...``), with HFLM's names where HFLM has the
same knob (``add_bos_token``, ``prefix_token_id``, ``max_length``, ``max_gen_toks``, ``device``).
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ground.errors import UserError


class CommonArgs(BaseModel):
    """What both models take."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pretrained: str | None = Field(None, description="checkpoint directory (default: the bundled tiny model)")
    batch_size: int = Field(16, gt=0, description="requests per forward pass")
    max_batch_size: int | None = Field(None, gt=0, description="cap on batch_size (lm-eval's --max_batch_size)")
    max_length: int | None = Field(None, gt=1, description="context limit (default: max_position_embeddings)")
    max_gen_toks: int = Field(256, gt=0, description="generation limit when a task gives none")
    add_bos_token: bool | None = Field(None, description="None: as the tokenizer does (HFLM); true: every "
                                       "sequence opens with the prefix token; false: never")
    prefix_token_id: int | None = Field(None, ge=0, description="token that opens empty contexts and rolling "
                                        "windows (default: BOS, else EOS, as HFLM)")
    seed: int = Field(1234, description="sampling seed (do_sample tasks)")
    # lm-eval's command line always passes --device (default cuda:0): accepted, and ignored; the
    # reference runs on the CPU and gptoss-tt on the mesh given by mesh=RxC.
    device: str | None = Field(None, description="accepted for lm-eval's --device; not used")

    def effective_batch_size(self) -> int:
        return min(self.batch_size, self.max_batch_size or self.batch_size)


class ReferenceArgs(CommonArgs):
    """``gptoss-ref``: the HF CPU reference."""

    dtype: Literal["float32", "bfloat16"] = "float32"
    experts_implementation: Literal["eager", "grouped_mm", "batched_mm"] | None = Field(
        None, description="transformers' MoE kernels (default: transformers' choice, as lm-eval's hf model loads it)")


class DeviceArgs(CommonArgs):
    """``gptoss-tt``: the TT-NN model through ``tt_model.load``; its dtypes are the precision's."""

    mesh: str = Field("1x8", description="RxC, e.g. 1x8 (LoudBox) or 4x8 (Galaxy)")
    backend: Literal["auto", "ttnn", "emulated"] = "auto"
    precision: str | None = Field(None, description="tt_model precision preset (default, bf8_experts)")
    batch_size: int = Field(32, gt=0, description="requests per prefill")

    @field_validator("precision")
    @classmethod
    def _preset(cls, name: str | None) -> str | None:
        from tt_model.precision import PRESETS

        if name is not None and name not in PRESETS:
            raise ValueError(f"not a precision preset; expected one of {', '.join(PRESETS)}")
        return name

    @field_validator("mesh")
    @classmethod
    def _mesh(cls, mesh: str) -> str:
        from tt_model.mesh import parse_mesh

        return str(parse_mesh(mesh))



def parse(model: str, cls: type[CommonArgs], values: dict) -> CommonArgs:
    """Validated args, or a UserError naming the first bad one (with a did-you-mean for typos)."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(name, cls.model_fields, n=1)
            known = ", ".join(cls.model_fields)
            raise UserError(f"unknown model arg {name!r} for {model}"
                            + (f" (did you mean {hint[0]!r}?)" if hint else "") + f"; known: {known}") from None
        raise UserError(f"model arg {name}={values.get(name)!r} for {model}: {error['msg']}") from None
