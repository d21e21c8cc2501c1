"""Regenerates ``dtype_support_0.81.1.json`` from the ttnn API dump (see ``dtype_table``):

    python -m tt_model.emulator.make_dtype_table tests/data/ttnn_api_0.81.1.json
"""
from tt_model.emulator.dtype_table import main

if __name__ == "__main__":
    raise SystemExit(main())
