"""Where a run's numbers came from: project commit, host, library versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("gptoss-bench", "torch", "transformers", "safetensors", "pydantic", "ttnn", "lm_eval")


def git_commit(root: Path = _PROJECT_ROOT) -> str:
    """HEAD of this project, with ``+dirty`` when the tree has changes; "unknown" outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def host() -> str:
    return platform.node() or "unknown"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
