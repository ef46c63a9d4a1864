"""One Ray cluster per test session (``ray.init(num_cpus=2)``), for the tests marked ``ray``.

Without Ray those tests are skipped; the simulator tests here run anyway.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

HAVE_RAY = importlib.util.find_spec("ray") is not None


# Under the fake-GPU pass of CI (-p tests.backends.fake_gpu_plugin) the fake is this process's only: Ray actors
# and the kill test's children run on the host, as in the first pass, so running them again would test nothing new.
_OTHER_PROCESSES = ("test_ray_cluster.py", "test_coordinator_kill.py")


def pytest_collection_modifyitems(config, items):
    fake_gpu = config.pluginmanager.has_plugin("tests.backends.fake_gpu_plugin")
    no_ray = pytest.mark.skip(reason="needs Ray: pip install -e '.[ray]'")
    host_only = pytest.mark.skip(reason="its workers run in other processes, on the host: covered by the first pass")
    for item in items:
        if fake_gpu and item.path.name in _OTHER_PROCESSES:
            item.add_marker(host_only)
        elif not HAVE_RAY and item.get_closest_marker("ray") is not None:
            item.add_marker(no_ray)


@pytest.fixture(scope="session")
def ray_session():
    import ray

    sys.path.insert(0, os.path.dirname(__file__))
    import dist_models

    ray.cloudpickle.register_pickle_by_value(dist_models)  # workers need not find the tests on their path
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()
