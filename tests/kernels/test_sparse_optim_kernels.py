"""kernels/optim.cu's sparse_apply_* built for the host (kernels/host_shim.h) against the NumPy backend, bit for bit.

The scalars come from ``sparse_training_kernels.sparse_device_scalars``, the function the CuPy backend calls.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from host_kernels import NP, launch

import graphvar as tf
from graphvar.backends import sparse_training_kernels as stk
from graphvar.ops import training_ops as T

# case -> (op type, hyperparameters by TF input name, attrs)
CASES = {
    "momentum": ("SparseApplyMomentum", {"lr": 0.01, "momentum": 0.9}, {"use_nesterov": False}),
    "nesterov": ("SparseApplyMomentum", {"lr": 0.01, "momentum": 0.9}, {"use_nesterov": True}),
    "adagrad": ("SparseApplyAdagrad", {"lr": 0.1}, {"update_slots": True}),
    "adagrad_frozen": ("SparseApplyAdagrad", {"lr": 0.1}, {"update_slots": False}),
    "rmsprop": ("SparseApplyRMSProp", {"lr": 0.01, "rho": 0.9, "momentum": 0.5, "epsilon": 1e-10}, {}),
    "centered": ("SparseApplyCenteredRMSProp", {"lr": 0.01, "rho": 0.8, "momentum": 0.9, "epsilon": 1e-6}, {}),
}  # fmt: skip
FNS = {"SparseApplyMomentum": T.sparse_apply_momentum, "SparseApplyAdagrad": T.sparse_apply_adagrad,
       "SparseApplyRMSProp": T.sparse_apply_rms_prop, "SparseApplyCenteredRMSProp": T.sparse_apply_centered_rms_prop}  # fmt: skip


def _inputs(op_type: str, shape: tuple, k: int, dtype, rng) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    names = T.SPARSE_APPLY_INPUTS[op_type]
    bufs = []
    for i in T.ref_positions(op_type):
        x = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 2, shape)
        if names[i] in ("ms", "accum"):
            x = np.abs(x) + 0.5  # second moments stay positive
        bufs.append(x.astype(dtype))
    if op_type == "SparseApplyCenteredRMSProp":  # ms >= mg * mg
        bufs[2] = (bufs[1].astype(np.float64) ** 2 + np.abs(bufs[2])).astype(dtype)
    grad = (rng.standard_normal((k, *shape[1:])) * 10.0 ** rng.integers(-4, 3, (k, *shape[1:]))).astype(dtype)
    grad[rng.random(grad.shape) < 0.1] = 0
    indices = rng.permutation(shape[0])[:k].astype(np.int64)  # distinct, as one launch takes them
    return bufs, grad, indices


def _numpy_backend(op_type: str, bufs: list, grad: np.ndarray, indices: np.ndarray, hyper: dict, attrs: dict) -> list:
    names = T.SPARSE_APPLY_INPUTS[op_type]
    refs = T.ref_positions(op_type)
    with tf.Graph().as_default():
        variables = [tf.Variable(b, name=names[i]) for i, b in zip(refs, bufs)]
        args = list(variables)
        for i, n in enumerate(names):
            if i in refs:
                continue
            if n == "grad":
                args.append(tf.constant(grad))
            elif n == "indices":
                args.append(tf.constant(indices))
            else:
                args.append(tf.constant(hyper[n], dtype=tf.as_dtype(grad.dtype)))
        op = FNS[op_type](*args, **attrs)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(op)
            return sess.run(variables)


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_sparse_optim_kernel_equals_numpy_backend(host_dll, case, t):
    op_type, hyper, attrs = CASES[case]
    rng = np.random.default_rng(zlib.crc32(f"sparse/{case}/{t}".encode()))
    dtype = NP[t]
    for shape, k, grid in [((37,), 12, (3, 7)), ((10, 5), 7, (1, 1)), ((9, 19), 4, (8, 256)), ((6, 3), 0, (1, 1))]:
        bufs, grad, indices = _inputs(op_type, shape, k, dtype, rng)
        want = _numpy_backend(op_type, bufs, grad, indices, hyper, attrs)
        scalars = stk.sparse_device_scalars(op_type, attrs, {n: dtype(v) for n, v in hyper.items()})
        got = [np.concatenate([[77], b.reshape(-1), [77]]).astype(dtype) for b in bufs]  # guards catch stray writes
        inner = int(np.prod(shape[1:], dtype=np.int64))
        name = f"{stk.SPARSE_OPTIM_KERNELS[op_type]}_{t}"
        if k:
            launch(host_dll, name, *grid, *[g[1:] for g in got], grad, indices, *scalars, k, inner)
        for i, (g, w) in enumerate(zip(got, want)):
            assert g[0] == 77 and g[-1] == 77, "kernel wrote outside the buffer"
            assert g[1:-1].tobytes() == np.asarray(w).reshape(-1).tobytes(), (case, t, shape, i)
        idle = np.setdiff1d(np.arange(shape[0]), indices)
        for g, b in zip(got, bufs):
            assert g[1:-1].reshape(shape)[idle].tobytes() == b[idle].tobytes()  # other rows untouched
        if k:
            assert not np.array_equal(got[0][1:-1].reshape(shape)[indices], bufs[0][indices])


def test_sparse_device_scalars_compute_in_the_variable_dtype():
    h = {"lr": np.float32(0.01), "momentum": np.float32(0.9)}
    lr, mu, lr_mu, nesterov = stk.sparse_device_scalars("SparseApplyMomentum", {"use_nesterov": True}, h)
    assert lr_mu.dtype == np.float32 and lr_mu == h["lr"] * h["momentum"] and nesterov == 1
    h = {"lr": np.float32(0.01), "rho": np.float32(0.9), "momentum": np.float32(0), "epsilon": np.float32(1e-10)}
    assert stk.sparse_device_scalars("SparseApplyRMSProp", {}, h)[2] == np.float32(1) - np.float32(0.9)
    with pytest.raises(KeyError, match="no optim.cu kernel"):
        stk.sparse_device_scalars("SparseApplyAdadelta", {}, h)
