"""Documents of a gptoss_tiny task, read from the JSONL files next to this module.

lm-eval resolves a YAML's relative ``data_files`` against the working directory; loading through
``custom_dataset`` from here instead finds the data wherever lm-eval runs from (a checkout, an
installed wheel, any cwd) and never touches the network. Data written by ``python -m bench.eval_taskgen``.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SPLITS = {"test": "test", "validation": "fewshot"}  # lm-eval split -> file suffix


def load(family: str, **_metadata):
    """DatasetDict with ``test`` (corpus eval split) and ``validation`` (held-out, few-shot examples).
    lm-eval also passes its task metadata (model args, version) as keywords; they do not matter here."""
    import datasets

    splits = {}
    for split, suffix in SPLITS.items():
        path = DATA / f"{family}.{suffix}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        splits[split] = datasets.Dataset.from_list(rows)
    return datasets.DatasetDict(splits)
