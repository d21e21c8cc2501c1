"""Every environment variable the project reads or sets, in one place.

Read fresh on each call to :func:`settings` (tests and users change the environment between
runs); an empty value counts as unset everywhere, so ``GPTOSS_BENCH_CACHE=`` means the default
root, never the current directory. README's environment table is checked against this class.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ground.errors import UserError

DEFAULT_CACHE = Path.home() / ".cache" / "gptoss-bench"
# Set by the CLI and the tests: the hub is unreachable here, and a user's offline run must not wait on it.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _doc(meaning: str, default: str) -> dict:
    """README table cells of one variable: what it means and its default, as printed there."""
    return {"meaning": meaning, "default": default}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    hf_model: Path | None = Field(None, validation_alias="HF_MODEL", json_schema_extra=_doc(
        "checkpoint directory", "bundled tiny model"))
    cache: Path = Field(DEFAULT_CACHE, validation_alias="GPTOSS_BENCH_CACHE", json_schema_extra=_doc(
        "cache root (reference captures, tokenizer build, weight digests, results DB)", "`~/.cache/gptoss-bench`"))
    backend: Literal["auto", "ttnn", "emulated"] = Field("auto", validation_alias="GPTOSS_BENCH_BACKEND",
                                                         json_schema_extra=_doc("`auto`, `ttnn` or `emulated`", "`auto`"))
    mesh_device: str | None = Field(None, validation_alias="MESH_DEVICE", json_schema_extra=_doc(
        "`N150`, `N300`, `T3K`, `TG` (as in tt-metal)", "from `--mesh`"))
    tt_cache_path: Path | None = Field(None, validation_alias="TT_CACHE_PATH", json_schema_extra=_doc(
        "converted device weights", "`$GPTOSS_BENCH_CACHE/tt-weights` on ttnn; none on the emulator"))
    hf_hub_offline: str = Field("1", validation_alias="HF_HUB_OFFLINE", json_schema_extra=_doc(
        "set to 1 by the CLI and tests: nothing waits on the network", "1"))
    hf_datasets_offline: str = Field("1", validation_alias="HF_DATASETS_OFFLINE", json_schema_extra=_doc(
        "as `HF_HUB_OFFLINE`, for lm-eval's datasets", "1"))
    github_step_summary: Path | None = Field(None, validation_alias="GITHUB_STEP_SUMMARY", json_schema_extra=_doc(
        "file the gate appends its Markdown table to (set by GitHub Actions)", "unset"))

    def weight_cache(self, backend: str) -> Path | None:
        """Where converted device weights go: $TT_CACHE_PATH, else under the cache root on real ttnn.
        The emulator converts in seconds; it caches only when TT_CACHE_PATH asks it to."""
        if self.tt_cache_path is not None:
            return self.tt_cache_path
        return self.cache / "tt-weights" if backend == "ttnn" else None


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = first["loc"][0] if first["loc"] else "environment"
        raise UserError(f"environment variable {name}={os.environ.get(str(name))!r}: {first['msg']}") from None


def env_table() -> list[tuple[str, str, str]]:
    """(variable, meaning, default) per documented variable, in declaration order."""
    rows = []
    for field in Settings.model_fields.values():
        doc = field.json_schema_extra
        rows.append((field.validation_alias, doc["meaning"], doc["default"]))
    return rows


def go_offline() -> None:
    """Nothing this process starts may wait on the Hugging Face hub (a user's explicit value wins)."""
    for name, value in OFFLINE.items():
        if not os.environ.get(name):
            os.environ[name] = value


# Third-party chatter a user of this tool cannot act on: transformers' MXFP4 "use_kernels" notice,
# its weight-loading progress bars, deprecation FutureWarnings from inside transformers.
QUIET = {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TOKENIZERS_PARALLELISM": "false"}


def quiet_third_party() -> None:
    """Called by the CLI unless -v; must run before transformers is imported (it reads these once)."""
    import warnings

    for name, value in QUIET.items():
        os.environ.setdefault(name, value)
    for module in ("transformers", "torch", "huggingface_hub", "accelerate"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
