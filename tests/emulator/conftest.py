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


@pytest.fixture(autouse=True)
def _no_fabric_leaks():
    """The fabric is process-global: every emulator test starts and ends without one."""
    from tt_model.backend import get_ttnn
    ttnn = get_ttnn("emulated")
    ttnn.set_fabric_config(ttnn.FabricConfig.DISABLED)
    yield
    ttnn.set_fabric_config(ttnn.FabricConfig.DISABLED)


@pytest.fixture
def open_mesh(ttnn):
    """open_mesh(rows, cols, fabric=..., **open_params) as tt-metal's mesh_device fixture does: the fabric
    (default FABRIC_1D_RING for more than one device, none for 1x1) is set before opening; closed and reset
    after the test."""
    opened = []

    def _open(rows, cols, fabric="default", **params):
        if fabric == "default":
            fabric = None if rows * cols == 1 else ttnn.FabricConfig.FABRIC_1D_RING
        ttnn.set_fabric_config(fabric if fabric is not None else ttnn.FabricConfig.DISABLED)
        mesh = ttnn.open_mesh_device(ttnn.MeshShape(rows, cols), **params)
        opened.append(mesh)
        return mesh

    yield _open
    for mesh in opened:
        ttnn.close_mesh_device(mesh)
