"""tf.train optimizers against TensorFlow-written fixtures (bit for bit) and their float64 formulas."""

from __future__ import annotations

import numpy as np
import pytest
from optimizer_helpers import build_case, feed_for, fixtures, run_case

import graphvar as tf
from graphvar import errors
from tests.fixtures import make_tf_optimizer_fixtures as fx

EXACT = [c for c in fx.CASES if not c.startswith("adagrad")]
# Adagrad: TF's vectorized Eigen rsqrt differs from 1/sqrt by up to 1 ULP of the update. Each step may
# then be off by 1 ULP of its update plus 1 ULP of the variable (the sum's rounding can flip); measured
# on the fixtures: at most 1.0 of that per-step allowance, summed over the steps taken.
ADAGRAD_BOUND = 1.0


def adagrad_tolerance(init: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Per step and element: the sum over steps so far of ulp(|update|) + ulp(|variable|)."""
    prev = np.concatenate([init[None], want[:-1]])
    return np.cumsum(np.spacing(np.abs(want - prev)) + np.spacing(np.abs(want)), axis=0, dtype=np.float64)


@pytest.mark.parametrize("case", EXACT)
def test_matches_tensorflow_bit_for_bit(case):
    F = fixtures()
    history = run_case(case)
    assert sorted(history) == list(F[fx.key(case, "names")])  # slot / non-slot names as TF's
    for name, values in history.items():
        want = F[fx.key(case, "value", name)]
        got = np.stack(values)
        assert got.dtype == want.dtype, name
        assert got.tobytes() == want.tobytes(), (case, name, np.max(np.abs(got - want)))


@pytest.mark.parametrize("case", ["adagrad", "adagrad_init"])
def test_adagrad_within_measured_bound_of_tensorflow(case):
    F = fixtures()
    history = run_case(case)
    assert sorted(history) == list(F[fx.key(case, "names")])
    for name in fx.VARS:
        got, want = np.stack(history[name]), F[fx.key(case, "value", name)]
        init = F[fx.key(case, "init", name)]
        err = np.abs(got.astype(np.float64) - want)
        ratio = float(np.max(err / adagrad_tolerance(init, want)))
        assert ratio <= ADAGRAD_BOUND, (case, name, ratio)
    # the accumulators add g*g exactly as TF (no rsqrt involved)
    for name in fx.VARS:
        slot = f"{name}/Adagrad"
        assert np.stack(history[slot]).tobytes() == F[fx.key(case, "value", slot)].tobytes()


# ---- float64 formulas (TF's documented update rules), one and several steps ----
def _formula(cls: str, kw: dict, var: np.ndarray, grads: np.ndarray) -> np.ndarray:
    v = var.astype(np.float64)
    kw = {k: float(np.float32(x)) if isinstance(x, float) else x for k, x in kw.items()}  # float32 tensors, as TF
    f32 = lambda x: float(np.float32(x))  # noqa: E731
    lr = f32(kw.get("learning_rate", 0.001))
    s1 = np.zeros_like(v)
    s2 = np.ones_like(v) if cls == "RMSPropOptimizer" else np.zeros_like(v)
    s3 = np.zeros_like(v)
    acc = np.full_like(v, f32(kw.get("initial_accumulator_value", 0.1)))
    b1p, b2p = np.float32(kw.get("beta1", 0.9)), np.float32(kw.get("beta2", 0.999))  # float32 variables in TF
    for g in grads.astype(np.float64):
        if cls == "GradientDescentOptimizer":
            v = v - lr * g
        elif cls == "MomentumOptimizer":
            mu = kw["momentum"]
            s1 = s1 * mu + g
            v = v - (g * lr + s1 * mu * lr if kw.get("use_nesterov") else lr * s1)
        elif cls == "AdamOptimizer":
            b1, b2, eps = f32(kw.get("beta1", 0.9)), f32(kw.get("beta2", 0.999)), f32(kw.get("epsilon", 1e-8))
            s1 = b1 * s1 + (1 - b1) * g
            s3 = b2 * s3 + (1 - b2) * g * g
            v = v - lr * np.sqrt(1 - float(b2p)) / (1 - float(b1p)) * s1 / (np.sqrt(s3) + eps)
            b1p, b2p = b1p * np.float32(b1), b2p * np.float32(b2)
        elif cls == "RMSPropOptimizer":
            rho, mu, eps = f32(kw.get("decay", 0.9)), kw.get("momentum", 0.0), f32(kw.get("epsilon", 1e-10))
            s2 = rho * s2 + (1 - rho) * g * g
            denom = s2 + eps
            if kw.get("centered"):
                s1 = rho * s1 + (1 - rho) * g
                denom = s2 - s1 * s1 + eps
            s3 = mu * s3 + lr * g / np.sqrt(denom)
            v = v - s3
        elif cls == "AdagradOptimizer":
            acc = acc + g * g
            v = v - lr * g / np.sqrt(acc)
    return v


FORMULA_CASES = [c for c in fx.CASES if not fx.CASES[c][3]]


@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("case", FORMULA_CASES)
def test_update_follows_formula(case, steps):
    cls, kw, dtype, _ = fx.CASES[case]
    history = run_case(case, steps)
    eps = np.finfo(dtype).eps
    for name, shape in fx.VARS.items():
        init = fx.initial_value(name, shape, dtype)
        grads = fx.gradients(name, shape, dtype)[:steps]
        want = _formula(cls, kw, init, grads)
        got = history[name][-1].astype(np.float64)
        # float32 rounding of each op, amplified at most by the size of the steps taken
        scale = np.abs(init).astype(np.float64) + np.abs(want - init) + 1e-3
        np.testing.assert_allclose(got, want, rtol=0, atol=float(np.max(scale)) * 64 * eps * steps)
        assert not np.array_equal(got, init.astype(np.float64)) or not np.any(grads)


def test_naming_matches_tensorflow():
    import contextlib

    F = fixtures()
    for scenario, opts in fx.NAMING.items():
        with tf.Graph().as_default():
            v = tf.Variable([1.0, 2.0], name="v")
            with tf.variable_scope("vs"):
                w = tf.get_variable("w", [2], initializer=tf.zeros_initializer())
            ctx = contextlib.nullcontext()
            if scenario == "adam_in_variable_scope":
                ctx = tf.variable_scope("outer")
            elif scenario == "adam_in_name_scope":
                ctx = tf.name_scope("train")
            with ctx:
                for cls, kwargs in opts:
                    getattr(tf.train, cls)(**kwargs).apply_gradients([(tf.ones([2]), v), (tf.ones([2]), w)])
            names = sorted(x.op.name for x in tf.global_variables())
        assert names == list(F[fx.key("naming", scenario)]), scenario


def test_slot_api_and_variables():
    v = tf.Variable([1.0, 2.0], name="v")
    w = tf.Variable(3.0, name="w")
    opt = tf.train.AdamOptimizer(0.1)
    opt.apply_gradients([(tf.constant([1.0, 1.0]), v), (tf.constant(1.0), w)])
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(v, "m").op.name == "v/Adam" and opt.get_slot(v, "v").op.name == "v/Adam_1"
    assert opt.get_slot(w, "m").get_shape() == tf.TensorShape([])
    assert opt.get_slot(v, "nope") is None
    assert [x.op.name for x in opt.variables()] == [
        "beta1_power",
        "beta2_power",
        "v/Adam",
        "v/Adam_1",
        "w/Adam",
        "w/Adam_1",
    ]
    slots = {x.op.name for x in opt.variables()}
    assert slots <= {x.op.name for x in tf.global_variables()}
    assert not slots & {x.op.name for x in tf.trainable_variables()}
    with tf.Graph().as_default():
        assert opt.variables() == []  # only the default graph's


def test_no_gradient_errors():
    v = tf.Variable([1.0], name="v")
    opt = tf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(ValueError, match=r"No gradients provided for any variable: \[.*'v:0'"):
        opt.apply_gradients([(None, v)])
    with pytest.raises(ValueError, match="No variables provided"):
        opt.apply_gradients([])
    with pytest.raises(TypeError, match="Gradient must be convertible"):
        opt.apply_gradients([(lambda: 1.0, v)])


def test_none_gradient_skips_the_variable():
    v, w = tf.Variable([1.0], name="v"), tf.Variable([5.0], name="w")
    train = tf.train.MomentumOptimizer(0.5, 0.9).apply_gradients([(tf.constant([2.0]), v), (None, w)])
    assert tf.train.MomentumOptimizer(0.5, 0.9).get_slot(w, "momentum") is None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        assert sess.run(v)[0] == np.float32(1.0) - np.float32(2.0) * np.float32(0.5)
        assert sess.run(w)[0] == 5.0
    assert "w/Momentum" not in {x.op.name for x in tf.global_variables()}


def test_build_time_shape_error_names_the_op():
    v = tf.Variable([1.0, 2.0], name="v")
    with pytest.raises(ValueError, match=r"var and grad do not have the same shape.*'Adam/update_v/ApplyAdam'"):
        tf.train.AdamOptimizer().apply_gradients([(tf.constant([1.0, 2.0, 3.0]), v)])


def test_uninitialized_slot_names_it():
    v = tf.Variable([1.0, 2.0], name="v")
    train = tf.train.AdamOptimizer().apply_gradients([(tf.constant([1.0, 2.0]), v)])
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value (v/Adam|beta1_power)"):
            sess.run(train)


def test_global_step_increments_after_update_and_train_op_collection():
    train, grads, lr, _ = build_case("adam")
    gs = tf.train.get_global_step()
    assert gs.dtype == tf.int64 and gs.op.name == "global_step"
    assert tf.get_collection(tf.GraphKeys.TRAIN_OP) == [train]
    assert train.name == "Adam" and train.type == "AssignAdd"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            sess.run(train, feed_for("adam", step, grads, lr))
        assert sess.run(gs) == 3


def test_saver_saves_slots_and_resume_is_exact(tmp_path):
    case, k = "rmsprop_centered", 3
    full = run_case(case, 2 * k)
    with tf.Graph().as_default():
        train, grads, lr, _ = build_case(case)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(k):
                sess.run(train, feed_for(case, step, grads, lr))
            path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=k)
    keys = {name for name, _ in tf.train.list_variables(path)}
    assert keys == set(full) and {"v/RMSProp", "v/RMSProp_1", "v/RMSProp_2", "global_step"} <= keys
    with tf.Graph().as_default():
        train, grads, lr, _ = build_case(case)
        all_vars = sorted(tf.global_variables(), key=lambda v: v.op.name)
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, path)
            for step in range(k, 2 * k):
                sess.run(train, feed_for(case, step, grads, lr))
            for v, value in zip(all_vars, sess.run(all_vars)):
                assert value.tobytes() == full[v.op.name][-1].tobytes(), v.op.name


class _Slices:
    """An IndexedSlices stand-in: (values, indices, dense_shape)."""

    def __init__(self, values, indices, dense_shape):
        self.values, self.indices, self.dense_shape = values, indices, dense_shape


@pytest.mark.parametrize("cls", ["GradientDescentOptimizer", "AdamOptimizer", "AdagradOptimizer"])
def test_sparse_gradient_equals_its_dense_form(cls):
    init = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    rows = np.float32([[1, 2, 3], [0.5, -1, 2], [4, 4, -4]])
    idx = np.int32([2, 0, 2])  # a repeated index: its rows add up
    dense = np.zeros_like(init)
    np.add.at(dense, idx, rows)
    results = []
    for sparse in (True, False):
        with tf.Graph().as_default():
            v = tf.Variable(init, name="v")
            grad = _Slices(tf.constant(rows), tf.constant(idx), tf.constant([4, 3])) if sparse else tf.constant(dense)
            kwargs = {"learning_rate": 0.1}
            train = getattr(tf.train, cls)(**kwargs).apply_gradients([(grad, v)])
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                sess.run(train)
                results.append(sess.run(v))
    if cls == "GradientDescentOptimizer":  # ScatterSub: (g * lr) per row, subtracted row by row
        np.testing.assert_allclose(results[0], results[1], rtol=0, atol=4e-7)
    else:
        assert results[0].tobytes() == results[1].tobytes()
    assert not np.array_equal(results[0], init)


# ---- TF-written training checkpoints (model trained K steps by TF's own minimize) ----
def _model_vars(data: dict) -> dict:
    params = {}
    for layer in ("layer1", "layer2"):
        with tf.variable_scope(layer):
            for p in ("W", "b"):
                init = data[f"{layer}/{p}"]
                params[f"{layer}/{p}"] = tf.get_variable(p, init.shape, initializer=tf.constant_initializer(init))
    return params


def _model_data() -> dict:
    F = fixtures()
    return {n: F[fx.key("model", "data", n)] for n in fx.model_data()}


@pytest.mark.parametrize("opt", sorted(fx.TRAIN_OPTIMIZERS))
def test_reads_tensorflow_training_checkpoint_by_the_same_keys(opt):
    F = fixtures()
    cls, kwargs = fx.TRAIN_OPTIMIZERS[opt]
    params = _model_vars(_model_data())
    gs = tf.train.get_or_create_global_step()
    pairs = [(tf.zeros(p.get_shape()), p) for p in params.values()]
    getattr(tf.train, cls)(**kwargs).apply_gradients(pairs, global_step=gs)
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == list(F[fx.key("model", opt, "names")])
    path = tf.train.latest_checkpoint(f"{fx.CKPT_DIR}/train_{opt}")
    assert {n for n, _ in tf.train.list_variables(path)} == set(names)
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, path)
        for v in tf.global_variables():
            assert sess.run(v).tobytes() == F[fx.key("model", opt, "at_k", v.op.name)].tobytes(), v.op.name


@pytest.mark.parametrize("opt", sorted(fx.TRAIN_OPTIMIZERS))
def test_resumes_tensorflow_training_checkpoint(opt):
    pytest.importorskip("graphvar.ops.gradients_impl", reason="needs tf.gradients (graphvar/ops/gradients_impl.py)")
    F = fixtures()
    data = _model_data()
    cls, kwargs = fx.TRAIN_OPTIMIZERS[opt]
    params = _model_vars(data)
    h = tf.tanh(tf.matmul(tf.constant(data["x"]), params["layer1/W"]) + params["layer1/b"])
    loss = tf.reduce_mean(tf.square(tf.matmul(h, params["layer2/W"]) + params["layer2/b"] - tf.constant(data["y"])))
    train = getattr(tf.train, cls)(**kwargs).minimize(loss, global_step=tf.train.get_or_create_global_step())
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, tf.train.latest_checkpoint(f"{fx.CKPT_DIR}/train_{opt}"))
        for _ in range(fx.MODEL["k"]):
            sess.run(train)
        for v in tf.global_variables():
            want = F[fx.key("model", opt, "at_2k", v.op.name)]
            # matmul / tanh differ ~1e-7 relative between libraries; K steps grow it a little
            np.testing.assert_allclose(sess.run(v), want, rtol=2e-5, atol=2e-6, err_msg=v.op.name)
