import pytest


@pytest.fixture
def ttnn():
    from tt_model.backend import get_ttnn
    return get_ttnn("emulated")


@pytest.fixture
def device(ttnn):
    dev = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
    yield dev
    ttnn.close_mesh_device(dev)
