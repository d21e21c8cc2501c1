"""Which lm-eval tasks a run can see: the shipped offline tasks (``suites/tasks``), any
``--include-path`` directories, and lm-eval's own catalogue, whose datasets must already be in the
local HF datasets cache (``HF_DATASETS_OFFLINE=1``: nothing waits on the network).

Indexing lm-eval's whole catalogue (thousands of YAML files) takes seconds to tens of seconds, so
it is indexed only when a requested name is not one of ours.
"""

from __future__ import annotations

import difflib
import logging
from importlib import resources
from pathlib import Path

from ground.errors import UserError

TASKS_DIR = Path(str(resources.files("suites") / "tasks"))
SHIPPED_GROUPS = ("gptoss_tiny",)


def _is_file_spec(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) and Path(name).is_file()


def task_manager(names: list[str], include_paths: list[Path] | tuple[Path, ...] = ()):
    """A TaskManager that knows every name in ``names``; an unknown name is a one-line error."""
    from lm_eval.tasks import TaskManager

    for path in include_paths:
        if not Path(path).is_dir():
            raise UserError(f"--include-path {str(path)!r} is not a directory of lm-eval task YAMLs")
    paths = [TASKS_DIR, *map(Path, include_paths)]
    manager = TaskManager(include_path=paths, include_defaults=False)
    missing = [n for n in names if n not in manager.all_tasks and not _is_file_spec(n)]
    if not missing:
        return manager
    manager = TaskManager(include_path=paths)  # lm-eval's own catalogue too
    unknown = [n for n in names if n not in manager.all_tasks and not _is_file_spec(n)]
    if unknown:
        hints = {n: difflib.get_close_matches(n, manager.all_tasks, n=1) for n in unknown}
        said = ", ".join(f"{n!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for n, h in hints.items())
        raise UserError(f"unknown task {said}; shipped: {', '.join(SHIPPED_GROUPS)} "
                        f"(and its tasks), or any of lm-eval's {len(manager.all_tasks)} task names")
    return manager


def load_tasks(manager, names: list[str]) -> None:
    """Every task built (its documents loaded) before any model runs, one name at a time so that a
    missing dataset is reported against the task that needs it; a check only, the built tasks are dropped."""
    for name in names:
        try:
            _quietly(manager.load, [name])
        except UserError:
            raise
        except Exception as exc:  # datasets' offline errors, a missing data file, a malformed YAML
            raise UserError(f"task {name!r} cannot be loaded offline: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename} is missing" if exc.filename else detail
    name = type(exc).__name__
    if "offline" in detail.lower() or "connection" in name.lower() or "offline" in name.lower():
        return f"its dataset is not in the local HF datasets cache (HF_DATASETS_OFFLINE=1): {detail or name}"
    return f"{name}: {detail}" if detail else name


def _quietly(fn, *args):
    """lm-eval warns once per custom_dataset task about --metadata; that is noise for our tasks."""
    log = logging.getLogger("lm_eval")
    level = log.level
    log.setLevel(max(level, logging.ERROR))
    try:
        return fn(*args)
    finally:
        log.setLevel(level)
