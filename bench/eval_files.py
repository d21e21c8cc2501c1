"""One side's lm-eval results on disk in lm-eval's own layout, as ``lm_eval --output_path DIR`` writes
them: ``DIR/<model name sanitized>/results_<date>.json`` (results, groups, configs, versions, n-shot,
higher_is_better, n-samples, config, task_hashes, the run's general config) and, when asked,
``samples_<task>_<date>.jsonl`` per task.

The content is built the way lm-eval's EvaluationTracker builds it (its helpers, its field names);
the writing is ours: atomic, and a failure is an error rather than a logged warning.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from ground.fsutil import atomic_text


def write_side(output_path: Path, results: dict, tracker, log_samples: bool) -> Path:
    """Writes ``results`` (simple_evaluate's dict; its ``samples`` are written only with
    ``log_samples``) under ``output_path``; returns the results file."""
    from lm_eval.utils import handle_non_serializable, hash_string

    tracker.general_config_tracker.log_end_time()
    samples = results.get("samples") or {}
    aggregated = {k: v for k, v in results.items() if k != "samples"}
    aggregated["task_hashes"] = {task: hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"]
                                                           for s in task_samples))
                                 for task, task_samples in samples.items()}
    aggregated.update(asdict(tracker.general_config_tracker))
    folder = output_path / str(tracker.general_config_tracker.model_name_sanitized)
    date_id = datetime.now().isoformat().replace(":", "-")
    path = atomic_text(folder / f"results_{date_id}.json",
                       json.dumps(aggregated, indent=2, default=handle_non_serializable, ensure_ascii=False))
    if log_samples:
        for task, task_samples in samples.items():
            atomic_text(folder / f"samples_{task}_{date_id}.jsonl", _samples_jsonl(task_samples))
    return path


def _samples_jsonl(samples: list[dict]) -> str:
    """lm-eval's per-sample lines: arguments as gen_args_i/arg_j, responses sanitised, target a string."""
    from lm_eval.utils import handle_non_serializable, sanitize_list

    lines = []
    for sample in samples:
        sample = dict(sample)
        sample["arguments"] = {f"gen_args_{i}": {f"arg_{j}": value for j, value in enumerate(arg)}
                               for i, arg in enumerate(sample["arguments"])}
        sample["resps"] = sanitize_list(sample["resps"])
        sample["filtered_resps"] = sanitize_list(sample["filtered_resps"])
        sample["target"] = str(sample["target"])
        lines.append(json.dumps(sample, default=handle_non_serializable, ensure_ascii=False) + "\n")
    return "".join(lines)
