import pytest


def pytest_collection_modifyitems(items):
    """Benchmarks time things: they run on demand (``pytest -m slow tests/benchmarks``), never in the
    default suite, where two cores shared with other tests would make their ratios noise."""
    for item in items:
        if "benchmarks" in item.path.parts:
            item.add_marker(pytest.mark.slow)
