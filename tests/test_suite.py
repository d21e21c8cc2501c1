import copy

import pytest
import yaml

from ground.errors import UserError
from bench.suite import available_suites, load_suite, parse_suite, suite_hash

SMOKE = yaml.safe_load(load_suite("smoke").source.read_text())


def _bad(**changes):
    data = copy.deepcopy(SMOKE)
    data.update(changes)
    return data


def test_all_shipped_suites_validate():
    assert available_suites() == ["gpt-oss-120b", "gpt-oss-20b", "smoke"]
    assert load_suite("gpt-oss-120b").suite.meshes == ["4x8"]
    assert load_suite("gpt-oss-20b").suite.thresholds.layer_pcc.prefill.layer_out == 0.88
    smoke = load_suite("smoke").suite
    assert smoke.mesh_shapes() == [(1, 8)] and smoke.decode_steps == 4 and smoke.teacher_forcing.tokens == 32


def test_unknown_key_named_with_suggestion():
    data = _bad(prefil_lengths=[32])
    with pytest.raises(UserError, match=r"^suites/x.yaml: unknown key 'prefil_lengths' in suite \(did you mean 'prefill_lengths'\?\)"):
        parse_suite(data, "suites/x.yaml")


def test_nested_unknown_key_named():
    data = copy.deepcopy(SMOKE)
    data["thresholds"]["layer_pcc"]["decode"]["layer_outt"] = 0.9
    with pytest.raises(UserError, match=r"unknown key 'layer_outt' in thresholds.layer_pcc.decode \(did you mean 'layer_out'\?\)"):
        parse_suite(data, "x.yaml")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"meshes": ["3x"]}, r"mesh '3x' is not ROWSxCOLS"),
        ({"decode_steps": -1}, r"decode_steps: Input should be greater than or equal to 0 \(got -1\)"),
        ({"prefill_lengths": [32, 0]}, r"prefill lengths must be positive, got \[0\]"),
        ({"dtypes": {"experts": "bfloat16"}}, r"dtypes.experts: Input should be 'bfloat4_b' or 'bfloat8_b'"),
        ({"prompts": [{"text": "a", "tokens_file": "t.json"}]}, r"exactly one of text, text_file, tokens_file"),
    ],
)
def test_bad_values_rejected_clearly(changes, message):
    with pytest.raises(UserError, match=message):
        parse_suite(_bad(**changes), "x.yaml")


def test_unknown_name_lists_available():
    with pytest.raises(UserError, match=r"unknown suite 'smokey'; available: gpt-oss-120b, gpt-oss-20b, smoke"):
        load_suite("smokey")


def test_path_suite_and_relative_prompt_paths(tmp_path):
    data = _bad(prompts=[{"tokens_file": "prompts/p.json"}])
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_suite(str(path))
    assert loaded.resolve(loaded.suite.prompts[0].tokens_file) == tmp_path / "prompts" / "p.json"
    assert loaded.hash != load_suite("smoke").hash
    with pytest.raises(UserError, match="does not exist"):
        load_suite(str(tmp_path / "missing.yaml"))


def test_hash_is_canonical_not_textual(tmp_path):
    # key order and formatting do not change the hash; a value does
    path = tmp_path / "reordered.yaml"
    path.write_text(yaml.safe_dump(dict(reversed(list(SMOKE.items()))), default_flow_style=True))
    assert load_suite(str(path)).hash == load_suite("smoke").hash
    assert suite_hash(parse_suite(_bad(decode_steps=5), "x")) != load_suite("smoke").hash


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(UserError, match="broken.yaml: not valid YAML"):
        load_suite(str(path))
