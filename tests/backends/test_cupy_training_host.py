"""The GPU optimizer path (backends/cupy_training.py + kernels/optim.cu) without a GPU: the fake CuPy runs
the kernels' host build after checking every argument against its C signature; compared with the
NumPy backend in the same Session, bit for bit."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphvar as tf
from tests.backends.fake_cupy import DeviceArray

OPTIMIZERS = {
    "sgd": lambda lr: tf.train.GradientDescentOptimizer(lr),
    "momentum": lambda lr: tf.train.MomentumOptimizer(lr, 0.9),
    "nesterov": lambda lr: tf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
    "adam": lambda lr: tf.train.AdamOptimizer(lr),
    "rmsprop": lambda lr: tf.train.RMSPropOptimizer(lr, momentum=0.5),
    "rmsprop_centered": lambda lr: tf.train.RMSPropOptimizer(lr, momentum=0.5, centered=True),
    "adagrad": lambda lr: tf.train.AdagradOptimizer(lr),
}


def _model(name: str, grad, init):
    v = tf.Variable(init, name="v")
    opt = OPTIMIZERS[name](0.01)
    return v, opt.apply_gradients([(grad, v)], global_step=tf.train.get_or_create_global_step())


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_gpu_updates_equal_host(fake_gpu, name, dtype):
    rng = np.random.default_rng(5)
    init = (rng.standard_normal(1031) * 3).astype(dtype.np)
    grads = (rng.standard_normal((4, 1031)) * 10.0 ** rng.integers(-3, 2, (4, 1031))).astype(dtype.np)
    results = {}
    for device in ("/gpu:0", "/cpu:0"):
        with tf.Graph().as_default(), tf.device(device):
            g = tf.placeholder(dtype, [1031])
            v, train = _model(name, g, init)
            slots = [x for x in tf.global_variables() if x.op.name.startswith("v/")]
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                for k in range(4):
                    sess.run(train, {g: grads[k]})
                results[device] = sess.run([v, *slots])
                types = {type(sess._variable_slot(x).value) for x in [v, *slots]}
                assert types == ({DeviceArray} if device == "/gpu:0" else {np.ndarray})
    for got, want in zip(results["/gpu:0"], results["/cpu:0"]):
        assert got.tobytes() == want.tobytes(), name
    assert not np.array_equal(results["/cpu:0"][0], init)
    suffix = "f32" if dtype == tf.float32 else "f64"
    launched = {entry[1] for entry in fake_gpu.log if entry[0] == "launch"}
    assert any(n.startswith("apply_") and n.endswith(suffix) for n in launched), launched


def test_gpu_update_errors_match_host(fake_gpu):
    v = tf.Variable(np.zeros(3, np.float32), name="v")
    train = tf.train.AdamOptimizer().apply_gradients([(tf.constant(np.ones(3, np.float32)), v)])
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value (v/Adam|beta1_power)"):
            sess.run(train)


@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
def test_nvrtc_compiles_optim_cu_with_fmad_off(arch):
    import ctypes
    import os

    from ci import nvrtc
    from graphvar.backends import cupy_training
    from tests.backends import fake_cupy

    path = nvrtc.find_nvrtc()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("libnvrtc not found in CI (the test extra installs nvidia-cuda-nvrtc-cu12)")
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12, or set GRAPHVAR_NVRTC)")
    code, options = cupy_training._module_source()
    assert "--fmad=false" in options
    ptx = nvrtc.compile_ptx(ctypes.CDLL(path), code, options + (f"-arch={arch}", *nvrtc.CUPY_OPTIONS))
    wanted = {n for n in fake_cupy.host_kernels.SIGNATURES if n.startswith("apply_")}
    assert len(wanted) == 12 and wanted <= nvrtc.entries(ptx)
    assert not re.search(r"\bfma\.|\.ftz\.", ptx)  # nothing fused, nothing flushed (CuPy passes -ftz=true)


@pytest.mark.parametrize("case", ["sgd", "nesterov", "adam", "adam_f64", "rmsprop_centered"])
def test_fake_gpu_matches_tensorflow_fixtures(fake_gpu, case):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "train"))
    from optimizer_helpers import fixtures, run_case

    from tests.fixtures import make_tf_optimizer_fixtures as fx

    history = run_case(case, device="/gpu:0")
    for name, values in history.items():
        assert np.stack(values).tobytes() == fixtures()[fx.key(case, "value", name)].tobytes(), (case, name)
    assert any(e[0] == "launch" and e[1].startswith("apply_") for e in fake_gpu.log)
