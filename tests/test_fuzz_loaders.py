"""The suite and results loaders take anything a user can hand them and answer with a UserError (one
line, exit 2) or a valid object: never another exception, never a traceback."""
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.results import parse_result
from bench.suite import load_suite, parse_suite
from ground.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SMOKE = __import__("yaml").safe_load((ROOT / "suites" / "smoke.yaml").read_text())
RESULT = json.loads((ROOT / "tests" / "data" / "results_v1.json").read_text())

scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4), max_leaves=12)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _only_user_errors(fn, *args):
    try:
        fn(*args)
    except UserError as exc:
        assert "\n" not in str(exc)


def _mutate(base: dict, data) -> dict:
    """``base`` with one key, at any depth, replaced by arbitrary data or dropped."""
    out = json.loads(json.dumps(base))
    target = out
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            return out
        key = data.draw(st.sampled_from(keys))
        child = target[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            target = child
            continue
        if isinstance(target, dict) and data.draw(st.booleans()):
            del target[key]
        else:
            target[key] = data.draw(values)
        return out


# Each loader with the document its mutations start from: the smoke suite, a stored version-1 result.
LOADERS = pytest.mark.parametrize("parse, base, name", [(parse_suite, SMOKE, "fuzz.yaml"),
                                                        (parse_result, RESULT, "fuzz.json")], ids=["suite", "results"])


@LOADERS
@FUZZ
@given(st.data())
def test_loader_survives_mutations(parse, base, name, data):
    _only_user_errors(parse, _mutate(base, data), name)


@LOADERS
@FUZZ
@given(values)
def test_loader_survives_arbitrary_documents(parse, base, name, doc):
    _only_user_errors(parse, doc, name)


@FUZZ
@given(st.binary(max_size=300))
def test_suite_file_of_arbitrary_bytes(tmp_path, raw):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    _only_user_errors(load_suite, str(path))
