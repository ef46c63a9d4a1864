"""kernels/optim.cu built for the host (kernels/host_shim.h) against the NumPy backend, element for element.

The scalars passed to the kernels come from ``training_kernels.device_scalars``, the function the
CuPy backend calls, so this checks the GPU path's host-side arithmetic too.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from host_kernels import NP, launch

import graphvar as tf
from graphvar.backends import training_kernels as tk
from graphvar.ops import training_ops

# op type -> (hyperparameters by TF input name, attrs)
CASES = {
    "ApplyGradientDescent": ({"alpha": 0.1}, {}),
    "ApplyMomentum": ({"lr": 0.01, "momentum": 0.9}, {"use_nesterov": False}),
    "ApplyMomentum+nesterov": ({"lr": 0.01, "momentum": 0.9}, {"use_nesterov": True}),
    "ApplyAdam": ({"beta1_power": 0.729, "beta2_power": 0.997, "lr": 0.001, "beta1": 0.9, "beta2": 0.999,
                   "epsilon": 1e-8}, {"use_nesterov": False}),
    "ApplyRMSProp": ({"lr": 0.01, "rho": 0.9, "momentum": 0.5, "epsilon": 1e-10}, {}),
    "ApplyCenteredRMSProp": ({"lr": 0.01, "rho": 0.8, "momentum": 0.9, "epsilon": 1e-6}, {}),
    "ApplyAdagrad": ({"lr": 0.1}, {"update_slots": True}),
    "ApplyAdagrad+frozen": ({"lr": 0.1}, {"update_slots": False}),
}  # fmt: skip
GRIDS = [(1, 1), (3, 7), (8, 256)]


def _inputs(op_type: str, n: int, dtype: str, rng) -> tuple[list[np.ndarray], np.ndarray]:
    refs = training_ops.ref_positions(op_type)
    names = training_ops.APPLY_INPUTS[op_type]
    bufs = []
    for i in refs:
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 2, n)
        if names[i] in ("ms", "accum", "v"):
            x = np.abs(x) + 0.5  # second moments stay positive, as training keeps them
        bufs.append(x.astype(dtype))
    if op_type == "ApplyCenteredRMSProp":  # ms >= mg * mg, as running moments are
        bufs[2] = (bufs[1].astype(np.float64) ** 2 + np.abs(bufs[2])).astype(dtype)
    grad = (rng.standard_normal(n) * 10.0 ** rng.integers(-4, 3, n)).astype(dtype)
    grad[rng.random(n) < 0.1] = 0
    return bufs, grad


def _numpy_backend(op_type: str, bufs: list[np.ndarray], grad: np.ndarray, hyper: dict, attrs: dict) -> list:
    """Runs the op in a graphvar Session on the NumPy backend; the variable and slots after it."""
    names = training_ops.APPLY_INPUTS[op_type]
    refs = training_ops.ref_positions(op_type)
    with tf.Graph().as_default():
        variables = [tf.Variable(b, name=names[i]) for i, b in zip(refs, bufs)]
        args = list(variables)
        for i, n in enumerate(names):
            if i not in refs:
                args.append(tf.constant(grad) if i == training_ops.grad_position(op_type) else
                            tf.constant(hyper[n], dtype=tf.as_dtype(grad.dtype)))  # fmt: skip
        fn = {"ApplyGradientDescent": training_ops.apply_gradient_descent, "ApplyMomentum": training_ops.apply_momentum,
              "ApplyAdam": training_ops.apply_adam, "ApplyRMSProp": training_ops.apply_rms_prop,
              "ApplyCenteredRMSProp": training_ops.apply_centered_rms_prop,
              "ApplyAdagrad": training_ops.apply_adagrad}[op_type]  # fmt: skip
        op = fn(*args, **attrs)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(op)
            return sess.run(variables)


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_optim_kernel_equals_numpy_backend(host_dll, case, t):
    op_type = case.split("+")[0]
    hyper, attrs = CASES[case]
    rng = np.random.default_rng(zlib.crc32(f"{case}/{t}".encode()))
    dtype = NP[t]
    for n, grid in [(0, (1, 1)), (1, (2, 3)), (37, GRIDS[1]), (1031, GRIDS[2]), (64, GRIDS[0])]:
        bufs, grad = _inputs(op_type, n, dtype, rng)
        want = _numpy_backend(op_type, bufs, grad, hyper, attrs) if n else [b.copy() for b in bufs]
        scalars = tk.device_scalars(op_type, attrs, {k: dtype(v) for k, v in hyper.items()})
        got = [np.concatenate([[77], b, [77]]).astype(dtype) for b in bufs]  # guards catch stray writes
        launch(host_dll, f"{tk.OPTIM_KERNELS[op_type]}_{t}", *grid, *[g[1:] for g in got], grad, *scalars, n)
        for i, (g, w) in enumerate(zip(got, want)):
            assert g[0] == 77 and g[-1] == 77, "kernel wrote outside [0, n)"
            assert g[1:-1].tobytes() == np.asarray(w).tobytes(), (case, t, n, i)
        if n > 10:
            assert not np.array_equal(got[0][1:-1], bufs[0])  # the update did something


def test_device_scalars_compute_in_the_variable_dtype():
    hyper = {k: np.float32(v) for k, v in CASES["ApplyAdam"][0].items()}
    lr_t, b1, one_minus_b1, one_minus_b2, eps, nesterov = tk.device_scalars("ApplyAdam", {}, hyper)
    one = np.float32(1)
    assert lr_t.dtype == np.float32 and lr_t == hyper["lr"] * np.sqrt(one - hyper["beta2_power"]) / (
        one - hyper["beta1_power"]
    )
    assert one_minus_b1 == one - hyper["beta1"] and one_minus_b2 == np.float32(1) - hyper["beta2"]
    assert nesterov == 0 and b1 == hyper["beta1"] and eps == hyper["epsilon"]
    with pytest.raises(KeyError, match="no optim.cu kernel"):
        tk.device_scalars("ApplyAdadelta", {}, hyper)
