"""One GPT-OSS checkpoint directory, opened once: path, config, content identity, tokenizer and the
tensor reader. The reference, the TT-NN model and run provenance all take this object, so
config.json is read and "is this gpt_oss?" is checked exactly once per run.

Which checkpoint a command uses: ``--model``, else ``$HF_MODEL`` (tt-metal's convention), else
the suite's model (``tiny`` or unset: the bundled trained tiny model).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ground.config import ModelConfig
from ground.errors import UserError
from ground.settings import settings
from ground.tensors import TensorReader

BUNDLED_TINY = Path(__file__).resolve().parent / "assets" / "tiny"


def looks_like_checkpoint(path: Path) -> bool:
    """A directory whose config.json says gpt_oss (used before overwriting a directory)."""
    try:
        return json.loads((path / "config.json").read_text()).get("model_type") == "gpt_oss"
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(eq=False)
class Checkpoint:
    path: Path
    config_bytes: bytes = field(repr=False)
    config: ModelConfig = field(repr=False)
    source: str = "--model"  # where the path came from, for messages

    @classmethod
    def open(cls, path: str | os.PathLike, source: str = "--model") -> "Checkpoint":
        path = Path(path)
        where = f"{source} {str(path)!r}"
        if not path.is_dir():
            raise UserError(f"{where} is not a directory; expected a GPT-OSS checkpoint directory")
        config_file = path / "config.json"
        try:
            config_bytes = config_file.read_bytes()
            raw = json.loads(config_bytes)
        except FileNotFoundError:
            raise UserError(f"{where} has no config.json; expected a GPT-OSS checkpoint directory") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise UserError(f"{config_file}: not valid JSON ({exc})") from None
        except OSError as exc:
            raise UserError(f"{config_file}: cannot be read ({exc.strerror})") from None
        if not isinstance(raw, dict) or raw.get("model_type") != "gpt_oss":
            kind = raw.get("model_type") if isinstance(raw, dict) else type(raw).__name__
            raise UserError(f"{where} holds model_type {kind!r}; expected 'gpt_oss'")
        return cls(path.resolve(), config_bytes, ModelConfig.from_dict(raw, str(config_file)), source)

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(self.config_bytes).hexdigest()[:16]

    @cached_property
    def tensors(self) -> TensorReader:
        return TensorReader(self.path)

    @cached_property
    def identity(self) -> str:
        """Content hash of config, weights and tokenizer (see ground.identity)."""
        from ground.identity import checkpoint_identity

        memo = settings().cache / "digests"
        return checkpoint_identity(self.config_bytes, self.tensors.shard_files(), self.path, memo)

    @cached_property
    def tokenizer(self):
        # The fast tokenizer class directly: AutoTokenizer would read config.json a second time.
        from transformers import PreTrainedTokenizerFast

        try:
            return PreTrainedTokenizerFast.from_pretrained(str(self.path))
        except Exception as exc:  # tokenizers' Rust errors, JSON errors, missing files: all the file's fault
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{self.path}: tokenizer cannot be loaded ({first})") from None

    def hf_config(self, quantized: bool = False):
        return self.config.hf_config(quantized)

    def check_weights(self) -> None:
        """Every tensor the config implies is present with its shape (headers only; about a second
        even for 120B). Raises UserError naming the first mismatch."""
        from ground.layout import check

        reader = self.tensors
        check(self.config, reader.shape, set(reader.files), str(self.path))


def bundled_tiny() -> Checkpoint:
    if not (BUNDLED_TINY / "config.json").exists():
        raise UserError(f"the bundled tiny model is missing at {BUNDLED_TINY}; pass --model DIR or run "
                        "'gptoss-bench make-model --preset tiny --random --out DIR'")
    return Checkpoint.open(BUNDLED_TINY, "bundled tiny model")


def resolve_checkpoint(explicit: str | os.PathLike | None = None, suite_model: str | None = None,
                       suite_dir: Path | None = None) -> Checkpoint:
    """``--model``, else ``$HF_MODEL``, else the suite's model (a path next to the suite, ``$VAR``,
    or ``tiny``/None for the bundled model). A bad path from any source is an error, never skipped."""
    if explicit is not None:
        return Checkpoint.open(explicit, "--model")
    hf_model = settings().hf_model
    if hf_model is not None:
        return Checkpoint.open(hf_model, "HF_MODEL")
    if suite_model is None or suite_model == "tiny":
        return bundled_tiny()
    if suite_model.startswith("$"):
        value = os.environ.get(suite_model[1:])
        if not value:
            raise UserError(f"the suite takes its model from {suite_model}, which is unset; "
                            f"export {suite_model[1:]}=/path/to/checkpoint or pass --model DIR")
        return Checkpoint.open(value, suite_model)
    path = (suite_dir / suite_model) if suite_dir is not None else Path(suite_model)
    return Checkpoint.open(path, "suite model")
