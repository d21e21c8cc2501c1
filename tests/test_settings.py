"""Every environment variable is read in ground.settings, and README's table says what it says."""
import ast
from pathlib import Path

import pytest

from ground.errors import UserError
from ground.settings import DEFAULT_CACHE, env_table, settings

ROOT = Path(__file__).resolve().parents[1]


def _readme_rows():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Environment"):]
    section = section[: section.index("\n## ", 1)]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1], cells[2]))
    return rows


def test_readme_environment_table_matches_settings():
    assert _readme_rows() == env_table()


def _environment_reads(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if call and node.func.attr in ("get", "getenv") and "environ" in ast.unparse(node.func.value) \
                or call and ast.unparse(node.func) == "os.getenv" \
                or isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            yield ast.unparse(node)


def test_no_module_reads_the_environment_but_settings():
    readers = {(str(path.relative_to(ROOT)), expr)
               for package in ("ground", "reference", "tt_model", "bench", "reports")
               for path in (ROOT / package).rglob("*.py") if path != ROOT / "ground" / "settings.py"
               for expr in _environment_reads(path)}
    # The one exception: a suite may take its model from a variable it names ($VAR).
    assert readers == {("ground/checkpoint.py", "os.environ.get(suite_model[1:])")}


def test_empty_values_mean_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", "")
    monkeypatch.setenv("HF_MODEL", "")
    monkeypatch.setenv("TT_CACHE_PATH", "")
    s = settings()
    assert s.cache == DEFAULT_CACHE and s.hf_model is None and s.tt_cache_path is None
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path))
    assert settings().cache == tmp_path


def test_weight_cache_default_depends_on_backend(monkeypatch, tmp_path):
    monkeypatch.setenv("GPTOSS_BENCH_CACHE", str(tmp_path))
    monkeypatch.delenv("TT_CACHE_PATH", raising=False)
    assert settings().weight_cache("ttnn") == tmp_path / "tt-weights"
    assert settings().weight_cache("emulated") is None
    monkeypatch.setenv("TT_CACHE_PATH", str(tmp_path / "tt"))
    assert settings().weight_cache("emulated") == tmp_path / "tt"


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("GPTOSS_BENCH_BACKEND", "gpu")
    with pytest.raises(UserError, match=r"environment variable GPTOSS_BENCH_BACKEND='gpu'"):
        settings()
