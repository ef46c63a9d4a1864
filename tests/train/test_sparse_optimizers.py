"""Sparse (IndexedSlices) optimizer updates against TensorFlow-written fixtures and float64 formulas.

The fixtures (tests/fixtures/tf_sparse_optimizers.npz) come from TF1's optimizers minimizing
sum(tf.gather(var, ids) * values), so the gradient is exactly (values, ids), repeats included.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import graphvar as tf
from tests.fixtures import make_tf_optimizer_fixtures as fx

# TF's sparse Adagrad and RMSProp take rsqrt of each row; Eigen vectorizes rows at least a SIMD packet wide
# ("wide": 19 floats) with its fast rsqrt, which differs from 1 / sqrt by an ULP or two. There the variable
# and the momentum slot (which carry rsqrt) are held to RSQRT_BOUND: |error| <= RSQRT_BOUND * eps32 * (the
# sum over the steps so far of |change|) + ulp(value), measured at most 1.7 on the fixtures; the
# accumulators (no rsqrt) and everything else equal TF bit for bit.
RSQRT_CASES = {c for c, (cls, _) in fx.SPARSE_CASES.items() if cls in ("AdagradOptimizer", "RMSPropOptimizer")}
RSQRT_VARS = {"wide"}
RSQRT_BOUND = 2.0


def _carries_rsqrt(case: str, name: str) -> bool:
    var, _, slot = name.partition("/")
    momentum_slot = "RMSProp_2" if fx.SPARSE_CASES[case][1].get("centered") else "RMSProp_1"
    return case in RSQRT_CASES and var in RSQRT_VARS and slot in ("", momentum_slot)


def rsqrt_ratio(init: np.ndarray, got: np.ndarray, want: np.ndarray) -> float:
    prev = np.concatenate([init[None], want[:-1]]).astype(np.float64)
    moved = np.cumsum(np.abs(want - prev), axis=0)
    allowed = np.finfo(np.float32).eps * moved + np.spacing(np.abs(want))
    return float(np.max(np.abs(got.astype(np.float64) - want) / allowed))


@functools.cache
def sparse_fixtures() -> dict[str, np.ndarray]:
    with np.load(fx.SPARSE_NPZ, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def run_sparse_case(case: str, steps: int = fx.STEPS, device: str | None = None) -> dict[str, list[np.ndarray]]:
    cls, kwargs = fx.SPARSE_CASES[case]
    with tf.Graph().as_default(), tf.device(device):
        train, feeds = fx.sparse_graph(tf, cls, kwargs)
        all_vars = sorted(tf.global_variables(), key=lambda v: v.op.name)
        history: dict[str, list] = {v.op.name: [] for v in all_vars}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(steps):
                sess.run(train, fx.sparse_feed(feeds, step))
                for v, value in zip(all_vars, sess.run(all_vars)):
                    history[v.op.name].append(value)
        return history


def _ulps(got: np.ndarray, want: np.ndarray) -> int:
    a, b = (
        got.astype(np.float32).view(np.int32).astype(np.int64),
        want.astype(np.float32).view(np.int32).astype(np.int64),
    )
    a = np.where(a < 0, -(a & 0x7FFFFFFF), a)
    b = np.where(b < 0, -(b & 0x7FFFFFFF), b)
    return int(np.max(np.abs(a - b))) if a.size else 0


@pytest.mark.parametrize("case", sorted(fx.SPARSE_CASES))
def test_sparse_matches_tensorflow(case):
    F = sparse_fixtures()
    history = run_sparse_case(case)
    assert sorted(history) == list(F[fx.key(case, "names")])
    for name, values in history.items():
        got, want = np.stack(values), F[fx.key(case, "value", name)]
        assert got.dtype == want.dtype, name
        if _carries_rsqrt(case, name):
            ratio = rsqrt_ratio(_initial(name), got, want)
            assert ratio <= RSQRT_BOUND, (case, name, ratio)
        else:
            assert got.tobytes() == want.tobytes(), (case, name, _ulps(got, want))


def _initial(name: str) -> np.ndarray:
    var, _, slot = name.partition("/")
    if not slot:
        return fx.initial_value(var, fx.SPARSE_VARS[var], "float32")
    return np.zeros(fx.SPARSE_VARS[var], np.float32)  # the momentum slots start at zero


@pytest.mark.parametrize("case", sorted(fx.SPARSE_CASES))
def test_rows_without_gradient_do_not_move(case):
    """In each step, rows not in that step's ids keep their values in the variable and every slot, also rows
    with momentum from earlier steps (Adam: TF1 decays m and v on every row, so its rows all move, as TF's)."""
    history = run_sparse_case(case)
    adam = fx.SPARSE_CASES[case][0] == "AdamOptimizer"
    for name, values in history.items():
        var = name.partition("/")[0]
        if var not in fx.SPARSE_VARS or adam:
            continue
        init = fx.initial_value(var, fx.SPARSE_VARS[var], "float32") if "/" not in name else None
        prev = values[0] if init is None else init
        for step, v in enumerate(values):
            idle = np.setdiff1d(np.arange(v.shape[0]), fx.sparse_ids(var)[step])
            if step or init is not None:
                assert v[idle].tobytes() == prev[idle].tobytes(), (case, name, step)
            assert (
                v[np.unique(fx.sparse_ids(var)[step])].tobytes() != prev[np.unique(fx.sparse_ids(var)[step])].tobytes()
                or step == 0
            )
            prev = v


# ---- float64 formulas: TF's documented sparse updates (repeats summed, only the listed rows) ----
def _sparse_formula(cls: str, kw: dict, name: str, steps: int) -> np.ndarray:
    f32 = lambda x: float(np.float32(x))  # noqa: E731  (hyperparameters are float32 tensors, as TF's)
    shape = fx.SPARSE_VARS[name]
    v = fx.initial_value(name, shape, "float32").astype(np.float64)
    s1, s3 = np.zeros_like(v), np.zeros_like(v)
    s2 = (
        np.ones_like(v) if cls == "RMSPropOptimizer" else np.full_like(v, f32(kw.get("initial_accumulator_value", 0.1)))
    )
    lr = f32(kw.get("learning_rate", 0.001))
    b1, b2, eps_a = f32(kw.get("beta1", 0.9)), f32(kw.get("beta2", 0.999)), f32(kw.get("epsilon", 1e-8))
    b1p, b2p = np.float32(b1), np.float32(b2)
    for step in range(steps):
        ids, vals = fx.sparse_ids(name)[step], fx.sparse_values(name)[step].astype(np.float64)
        rows, inverse = np.unique(ids, return_inverse=True)
        g = np.zeros((len(rows), *shape[1:]))
        np.add.at(g, inverse, vals)
        if cls == "GradientDescentOptimizer":
            v[rows] -= lr * g
        elif cls == "MomentumOptimizer":
            mu = f32(kw["momentum"])
            s1[rows] = s1[rows] * mu + g
            v[rows] -= lr * g + lr * mu * s1[rows] if kw.get("use_nesterov") else lr * s1[rows]
        elif cls == "AdagradOptimizer":
            s2[rows] += g * g
            v[rows] -= lr * g / np.sqrt(s2[rows])
        elif cls == "RMSPropOptimizer":
            rho, mu, eps = f32(kw.get("decay", 0.9)), f32(kw.get("momentum", 0.0)), f32(kw.get("epsilon", 1e-10))
            s2[rows] = rho * s2[rows] + (1 - rho) * g * g
            denom = s2[rows] + eps
            if kw.get("centered"):
                s1[rows] = rho * s1[rows] + (1 - rho) * g
                denom = denom - s1[rows] ** 2
            s3[rows] = mu * s3[rows] + lr * g / np.sqrt(denom)
            v[rows] -= s3[rows]
        elif cls == "AdamOptimizer":
            s1 *= b1
            s1[rows] += (1 - b1) * g
            s3 *= b2
            s3[rows] += (1 - b2) * g * g
            v -= lr * np.sqrt(1 - float(b2p)) / (1 - float(b1p)) * s1 / (np.sqrt(s3) + eps_a)
            b1p, b2p = b1p * np.float32(b1), b2p * np.float32(b2)
    return v


@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("case", sorted(fx.SPARSE_CASES))
def test_sparse_update_follows_formula(case, steps):
    cls, kw = fx.SPARSE_CASES[case]
    history = run_sparse_case(case, steps)
    eps = np.finfo(np.float32).eps
    for name, shape in fx.SPARSE_VARS.items():
        init = fx.initial_value(name, shape, "float32").astype(np.float64)
        want = _sparse_formula(cls, kw, name, steps)
        got = history[name][-1].astype(np.float64)
        scale = np.abs(init) + np.abs(want - init) + 1e-3
        np.testing.assert_allclose(got, want, rtol=0, atol=float(np.max(scale)) * 64 * eps * steps, err_msg=name)
        assert not np.array_equal(got, init)


# ---- the embedding model: TF's own backprop through embedding_lookup, EMBED["steps"] steps ----
@functools.cache
def run_embed(opt: str, device: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    cls, kwargs = fx.EMBED_OPTIMIZERS[opt]
    data = fx.embed_data()
    with tf.Graph().as_default(), tf.device(device):
        train, loss, ids = fx.embed_graph(tf, data, cls, kwargs)
        all_vars = sorted(tf.global_variables(), key=lambda v: v.op.name)
        losses, history = [], {v.op.name: [] for v in all_vars}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(fx.EMBED["steps"]):
                losses.append(sess.run([train, loss], {ids: data["ids"][step]})[1])
                for v, value in zip(all_vars, sess.run(all_vars)):
                    history[v.op.name].append(value)
    return np.array(losses), {k: np.stack(v) for k, v in history.items()}


@pytest.mark.parametrize("opt", sorted(fx.EMBED_OPTIMIZERS))
def test_embedding_model_follows_tensorflow(opt):
    F = sparse_fixtures()
    losses, history = run_embed(opt)
    assert sorted(history) == list(F[fx.key("embed", opt, "names")])
    # the forward pass (mean, matmul) differs from TF's by float32 rounding; ten steps grow it a little
    np.testing.assert_allclose(losses, F[fx.key("embed", opt, "loss")], rtol=1e-5)
    for name, got in history.items():
        want = F[fx.key("embed", opt, "value", name)]
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{opt}: {name}")
    if opt != "adam":  # rows no example uses never move, in the embedding or its slots (TF's Adam decays m, v)
        used = fx.EMBED["used"]
        for name, got in history.items():
            if name.startswith("embedding"):
                assert (got[:, used:] == got[0, used:]).all() and (
                    got[:, used:] == F[fx.key("embed", opt, "value", name)][:, used:]
                ).all(), name
