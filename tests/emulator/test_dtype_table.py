"""The documented-dtype table shipped in the emulator is the one the 0.81.1 docstrings give, and the emulator
enforces it."""
from pathlib import Path

import pytest
import torch

from tt_model.emulator import dtype_table, make_dtype_table

DUMP = Path(__file__).resolve().parents[2] / "tests" / "data" / "ttnn_api_0.81.1.json"


def test_shipped_table_is_regenerated_identically_from_the_dump():
    assert dtype_table.TABLE_FILE.read_text() == make_dtype_table.render(make_dtype_table.generate(DUMP)), (
        "regenerate with: python -m tt_model.emulator.make_dtype_table tests/data/ttnn_api_0.81.1.json")


def test_table_contents():
    ops = dtype_table.load()["ops"]
    assert ops["ttnn.sigmoid"] == {"*": [[["BFLOAT16"], ["TILE", "ROW_MAJOR"]]]}
    assert ops["ttnn.all_reduce"]["*"][0][0] == ["BFLOAT16", "BFLOAT8_B", "FLOAT32"]
    assert set(ops["ttnn.linear"]) == {"input_tensor_a", "input_tensor_b", "bias"}
    assert set(ops["ttnn.rms_norm"]) == {"input_tensor", "residual_input_tensor", "weight", "bias", "output_tensor"}
    assert ["BFLOAT8_B"] in [row[0] for row in ops["ttnn.sum"]["input_tensor"]]  # one row per dtype
    assert ops["ttnn.abs"]["*"] == [[["BFLOAT16", "BFLOAT8_B", "FLOAT32"], None]]  # "Supported dtypes:" line
    assert ops["ttnn.topk"]["input_tensor"][0][0] == ["BFLOAT8_B", "BFLOAT16", "FLOAT32"]  # "BFLOAT8" in the doc
    unchecked = dtype_table.load()["unchecked"]
    assert {"ttnn.matmul", "ttnn.div", "ttnn.divide"} <= set(unchecked)


def test_parser_handles_cut_and_multi_row_tables():
    doc = ("Note:\n  .. list-table:: input_tensor\n     :header-rows: 1\n\n     * - dtype\n       - layout\n"
           "     * - BFLOAT16, FLOAT32\n       - TILE\n     * - UINT32 (range: [0, 9])\n       - ROW_MAJOR\n\n"
           "  More text.\n")
    tables, complete = make_dtype_table.parse_tables(doc)
    assert complete and tables == {"input_tensor": [[["BFLOAT16", "FLOAT32"], ["TILE"]], [["UINT32"], ["ROW_MAJOR"]]]}
    # the same docstring cut at 4000 characters inside the table: its rows may be missing -> not complete
    partial = doc.split("       - ROW_MAJOR")[0]
    cut = "x" * (make_dtype_table.DOC_LIMIT - len(partial)) + partial
    assert len(cut) == make_dtype_table.DOC_LIMIT and make_dtype_table.parse_tables(cut)[1] is False


def test_undocumented_dtype_raises_naming_op_and_dtype(ttnn, device):
    x = torch.randn(32, 32)
    f32 = ttnn.from_torch(x, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device)
    with pytest.raises(RuntimeError, match=r"TT_FATAL: ttnn.sigmoid: input_tensor has dtype FLOAT32"):
        ttnn.sigmoid(f32)
    bf16 = ttnn.typecast(f32, ttnn.bfloat16)
    assert torch.allclose(ttnn.to_torch(ttnn.sigmoid(bf16)).float(), torch.sigmoid(x), atol=1e-2)
    rm = ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    with pytest.raises(RuntimeError, match=r"ttnn.softmax: input_tensor has dtype BFLOAT16 in ROW_MAJOR layout"):
        ttnn.softmax(rm)
    ids = ttnn.from_torch(torch.zeros(32, 32, dtype=torch.int32), dtype=ttnn.uint32, layout=ttnn.TILE_LAYOUT,
                          device=device)
    with pytest.raises(RuntimeError, match=r"ttnn.linear: input_tensor_a has dtype UINT32"):
        ttnn.linear(ids, bf16)
    # per-dtype rows: bfloat8_b reduces in TILE only; an alias is checked under its own name
    with pytest.raises(RuntimeError, match=r"ttnn.multiply: input_tensor_a has dtype UINT8"):
        ttnn.multiply(ttnn.from_torch(torch.zeros(32, 32, dtype=torch.uint8), dtype=ttnn.uint8,
                                      layout=ttnn.TILE_LAYOUT, device=device), 2.0)
