import host_kernels
import pytest


@pytest.fixture(scope="session")
def host_dll(tmp_path_factory):
    try:
        dll = host_kernels.build(tmp_path_factory.mktemp("host_kernels"))
    except Exception as e:  # a compile error is a test failure, not a skip
        pytest.fail(f"host kernel build failed: {getattr(e, 'stderr', e)}")
    if dll is None:
        pytest.skip("g++ not found: host kernel tests need it")
    return dll
