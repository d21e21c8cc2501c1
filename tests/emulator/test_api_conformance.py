"""Every emulated public name exists in ttnn 0.81.1 and takes no keyword the real op lacks; tt_model's
ttnn.<name>(kw=...) calls are checked against the same reference."""
import ast
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = json.loads((ROOT / "tests" / "data" / "ttnn_api_0.81.1.json").read_text())["modules"]


# Ops whose 0.81.1 docstring does not list their keywords: the names bound in tt-metal's nanobind source
# (ttnn/cpp/ttnn/operations/experimental/paged_cache/paged_cache_nanobind.cpp, the generation whose docstring the
# dump holds: it documents cache_position_modulo too).
BOUND_KEYWORDS = {
    # ttnn/cpp/ttnn/operations/transformer/sdpa_decode/sdpa_decode_nanobind.cpp binds attention_sink, which the
    # docstring omits
    ("ttnn.transformer", "scaled_dot_product_attention_decode"): {
        "input_tensor_q", "input_tensor_k", "input_tensor_v", "is_causal", "attn_mask", "cur_pos", "cur_pos_tensor",
        "attention_sink", "scale", "sliding_window_size", "memory_config", "program_config", "compute_kernel_config",
        "share_cache"},
    ("ttnn.experimental", "paged_fill_cache"): {
        "cache_tensor", "input_tensor", "page_table", "batch_idx_tensor", "batch_idx", "mesh_coords", "block_size",
        "num_kv_heads"},
    ("ttnn.experimental", "paged_update_cache"): {
        "cache_tensor", "input_tensor", "update_idxs", "update_idxs_tensor", "share_cache", "page_table",
        "batch_offset", "compute_kernel_config", "mesh_coords", "block_size", "num_kv_heads", "cache_position_modulo"},
}


def _allowed(module: str, name: str, entry: dict) -> set[str] | None:
    if (module, name) in BOUND_KEYWORDS:
        return BOUND_KEYWORDS[(module, name)]
    return _real_keywords(entry)


def _real_keywords(entry: dict) -> set[str] | None:
    """Keywords the real callable documents, or None when it takes **kwargs we cannot read."""
    doc = entry.get("doc") or ""
    sig = entry.get("signature") or ""
    if "**" in sig and len(doc) >= 3900:
        return None  # docstring cut at 4000 characters: its keyword list may be incomplete
    text = doc + " " + (entry.get("source_head") or "")
    names = set(re.findall(r"\b([A-Za-z_]\w*)\b\s*(?:\(|:|=|`)", text)) | set(re.findall(r":attr:`(\w+)`", text))
    return names | set(re.findall(r"([A-Za-z_]\w*)\s*(?::|=|,|\))", sig))


def _emulated():
    from tt_model.emulator import api
    return api


@pytest.mark.parametrize("module", ["ttnn", "ttnn.transformer", "ttnn.experimental"])
def test_every_emulated_name_is_public_in_0_81_1(module):
    names = _emulated().public_names()[module]
    missing = [n for n in names if n not in API[module]]
    assert not missing, f"{module}: not in ttnn 0.81.1: {missing}"


def test_emulated_keywords_exist_in_real_signatures(ttnn):
    bad = []
    for module, names in _emulated().public_names().items():
        ns = ttnn if module == "ttnn" else getattr(ttnn, module.split(".")[1])
        for name in names:
            fn = getattr(ns, name)
            entry = API[module][name]
            if entry["kind"] != "callable" or inspect.isclass(fn) or not callable(fn):
                continue
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                continue
            allowed = _allowed(module, name, entry)
            if allowed is None:
                continue
            for p in params.values():
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in allowed:
                    bad.append(f"{module}.{name}({p.name}=)")
    assert not bad, f"keywords absent from the real API: {bad}"


def _tt_model_calls():
    for path in sorted((ROOT / "tt_model").rglob("*.py")):
        if "emulator" in path.parts or path.name == "backend.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain = []
                cur = node
                while isinstance(cur, ast.Attribute):
                    chain.append(cur.attr)
                    cur = cur.value
                if isinstance(cur, ast.Name) and cur.id == "ttnn":
                    chain.reverse()
                    yield path, node, chain


def test_tt_model_uses_only_real_names_and_keywords():
    bad = []
    calls = {}
    for path, node, chain in _tt_model_calls():
        module = "ttnn." + ".".join(chain[:-1]) if len(chain) > 1 else "ttnn"
        name = chain[-1]
        if module not in API:
            module, name = "ttnn", chain[0]
        if name not in API.get(module, {}):
            bad.append(f"{path.name}: {module}.{name}")
        calls[id(node)] = (path, module, name)
    for path in sorted((ROOT / "tt_model").rglob("*.py")):
        if "emulator" in path.parts or path.name == "backend.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                chain, cur = [], node.func
                while isinstance(cur, ast.Attribute):
                    chain.append(cur.attr)
                    cur = cur.value
                if not (isinstance(cur, ast.Name) and cur.id == "ttnn"):
                    continue
                chain.reverse()
                module = "ttnn." + ".".join(chain[:-1]) if len(chain) > 1 else "ttnn"
                entry = API.get(module, {}).get(chain[-1])
                if entry is None or entry["kind"] != "callable":
                    continue
                allowed = _allowed(module, chain[-1], entry)
                if allowed is None:
                    continue
                bad += [f"{path.name}: {module}.{chain[-1]}({kw.arg}=)" for kw in node.keywords
                        if kw.arg and kw.arg not in allowed]
    assert not bad, f"tt_model uses names/keywords absent from ttnn 0.81.1: {sorted(set(bad))}"


@pytest.mark.parametrize("name", ["add", "sub", "subtract", "mul", "multiply", "div", "divide"])
def test_fast_and_approximate_mode_defaults_follow_the_wheel(ttnn, name):
    match = re.search(r"fast_and_approximate_mode \(bool, optional\):.*?Defaults to `(\w+)`", API["ttnn"][name]["doc"],
                      re.S)
    documented = match.group(1).lower() == "true"
    assert inspect.signature(getattr(ttnn, name)).parameters["fast_and_approximate_mode"].default is documented
