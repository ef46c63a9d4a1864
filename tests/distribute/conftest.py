"""One Ray cluster per test session (``ray.init(num_cpus=2)``), for the tests marked ``ray``.

Without Ray those tests are skipped; the simulator tests here run anyway.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

HAVE_RAY = importlib.util.find_spec("ray") is not None


def pytest_collection_modifyitems(config, items):
    if HAVE_RAY:
        return
    skip = pytest.mark.skip(reason="needs Ray: pip install -e '.[ray]'")
    for item in items:
        if item.get_closest_marker("ray") is not None:
            item.add_marker(skip)


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
