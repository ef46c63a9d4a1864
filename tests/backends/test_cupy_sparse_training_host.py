"""The GPU sparse optimizer path (cupy_training.sparse_apply + optim.cu's sparse_apply_*) without a GPU: the fake
CuPy runs the kernels' host build, arguments checked against their C signatures; equal to the NumPy backend and
to the TensorFlow-written sparse fixtures, bit for bit."""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import graphvar as tf
from graphvar.ops import training_ops as T

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))


@pytest.mark.parametrize(
    "case",
    ["sparse_momentum", "sparse_nesterov", "sparse_adagrad", "sparse_rmsprop_momentum", "sparse_rmsprop_centered"],
)
def test_fake_gpu_sparse_equals_host_and_tensorflow(fake_gpu, case):
    from test_sparse_optimizers import _carries_rsqrt, run_sparse_case, sparse_fixtures

    from tests.fixtures import make_tf_optimizer_fixtures as fx

    gpu, host = run_sparse_case(case, device="/gpu:0"), run_sparse_case(case, device="/cpu:0")
    for name, values in gpu.items():
        assert np.stack(values).tobytes() == np.stack(host[name]).tobytes(), (case, name)
        if not _carries_rsqrt(case, name):
            assert np.stack(values).tobytes() == sparse_fixtures()[fx.key(case, "value", name)].tobytes(), name
    launched = [e[1] for e in fake_gpu.log if e[0] == "launch" and e[1].startswith("sparse_apply_")]
    assert launched and all(n.endswith("_f32") for n in launched)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_fake_gpu_repeated_indices_apply_in_order(fake_gpu, dtype):
    """Called directly with repeats, the op applies them one after another (waves of distinct rows), as TF."""
    init = np.arange(24, dtype=dtype.np).reshape(6, 4) / 7
    rows = np.linspace(-3, 3, 20, dtype=dtype.np).reshape(5, 4)
    idx = np.int32([4, 1, 4, 4, 0])
    results = {}
    for device in ("/gpu:0", "/cpu:0"):
        with tf.Graph().as_default(), tf.device(device):
            v = tf.Variable(init, name="v")
            ms = tf.Variable(np.ones_like(init), name="ms")
            mom = tf.Variable(np.zeros_like(init), name="mom")
            op = T.sparse_apply_rms_prop(v, ms, mom, 0.01, 0.9, 0.5, 1e-6, tf.constant(rows), tf.constant(idx))
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                sess.run(op)
                results[device] = sess.run([v, ms, mom])
    for got, want in zip(results["/gpu:0"], results["/cpu:0"]):
        assert got.tobytes() == want.tobytes()
    assert results["/cpu:0"][0][[2, 3, 5]].tobytes() == init[[2, 3, 5]].tobytes()
    assert sum(e[1].startswith("sparse_apply_rms_prop") for e in fake_gpu.log if e[0] == "launch") == 3  # 3 waves


def test_fake_gpu_bad_index_names_op_and_index(fake_gpu):
    with tf.device("/gpu:0"):
        v = tf.Variable(np.zeros((3, 2), np.float32), name="v")
        acc = tf.Variable(np.ones((3, 2), np.float32), name="acc")
        op = T.sparse_apply_adagrad(v, acc, 0.1, tf.constant(np.ones((2, 2), np.float32)), tf.constant([0, 3]))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"SparseApplyAdagrad: Index 3 at offset 1"):
            sess.run(op)
        assert sess.run(v).tobytes() == np.zeros((3, 2), np.float32).tobytes()  # nothing written


@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
def test_nvrtc_compiles_sparse_kernels_with_fmad_off(arch):
    from ci import nvrtc
    from graphvar.backends import cupy_training
    from tests.backends import fake_cupy

    path = nvrtc.find_nvrtc()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("libnvrtc not found in CI (the test extra installs nvidia-cuda-nvrtc-cu12)")
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12, or set GRAPHVAR_NVRTC)")
    code, options = cupy_training._module_source()
    ptx = nvrtc.compile_ptx(ctypes.CDLL(path), code, options + (f"-arch={arch}", *nvrtc.CUPY_OPTIONS))
    wanted = {n for n in fake_cupy.host_kernels.SIGNATURES if n.startswith("sparse_apply_")}
    assert len(wanted) == 8 and wanted <= nvrtc.entries(ptx)
    assert not re.search(r"\bfma\.|\.ftz\.", ptx)
