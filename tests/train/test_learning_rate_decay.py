"""tf.train learning-rate schedules against TensorFlow-written values and their float64 formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from optimizer_helpers import fixtures

import graphvar as tf
from tests.fixtures import make_tf_optimizer_fixtures as fx
from tests.ulp import ulp_distance

# Measured against TF 2.21 over the fixture steps: Pow / Exp (NumPy's float32 powf / expf vs Eigen's)
# differ by up to 7 ULP, the rest by at most 1. TF runs with denormals flushed to zero, so where TF's
# value is 0 or subnormal graphvar's may be a subnormal (below float32's smallest normal).
DECAY_ULP_BOUND = 8
TINY = np.finfo(np.float32).tiny


def _schedule(fn: str, kwargs: dict, gs):
    if fn == "piecewise_constant":
        return tf.train.piecewise_constant(gs, [np.int64(b) for b in kwargs["boundaries"]], kwargs["values"])
    return getattr(tf.train, fn)(global_step=gs, **kwargs)


def _values(fn: str, kwargs: dict, steps: list[int]) -> tuple[np.ndarray, str]:
    with tf.Graph().as_default():
        gs = tf.Variable(0, dtype=tf.int64, name="global_step", trainable=False)
        step = tf.placeholder(tf.int64, [])
        set_step = tf.assign(gs, step)
        lr = _schedule(fn, kwargs, gs)
        with tf.Session() as sess:
            out = []
            for s in steps:
                sess.run(set_step, {step: s})
                out.append(sess.run(lr))
        return np.array(out), lr.name


@pytest.mark.parametrize("name", sorted(fx.DECAYS))
def test_schedule_matches_tensorflow(name):
    F = fixtures()
    fn, kwargs = fx.DECAYS[name]
    got, tensor_name = _values(fn, kwargs, fx.DECAY_STEPS)
    want = F[fx.key("decay", name)]
    assert got.dtype == want.dtype == np.float32
    normal = np.abs(want) >= TINY
    assert ulp_distance(got[normal], want[normal]) <= DECAY_ULP_BOUND, name
    assert np.all(np.abs(got[~normal]) < TINY)
    if fn != "piecewise_constant":  # TF's is the Merge of a tf.case
        assert tensor_name == str(F[fx.key("decay", name, "tensor")])


def _formula(fn: str, kw: dict, step: int) -> float:
    if fn == "exponential_decay":
        p = step / kw["decay_steps"]
        return kw["learning_rate"] * kw["decay_rate"] ** (math.floor(p) if kw.get("staircase") else p)
    if fn == "natural_exp_decay":
        return kw["learning_rate"] * math.exp(-kw["decay_rate"] * step / kw["decay_steps"])
    if fn == "inverse_time_decay":
        p = step / kw["decay_steps"]
        return kw["learning_rate"] / (1 + kw["decay_rate"] * (math.floor(p) if kw.get("staircase") else p))
    if fn == "polynomial_decay":
        end, steps = kw.get("end_learning_rate", 0.0001), kw["decay_steps"]
        if kw.get("cycle"):
            steps = steps * (1 if step == 0 else math.ceil(step / steps))
        s = min(step, steps)
        return (kw["learning_rate"] - end) * (1 - s / steps) ** kw.get("power", 1.0) + end
    bounds, values = kw["boundaries"], kw["values"]
    return values[sum(step > b for b in bounds)]


@pytest.mark.parametrize("name", sorted(fx.DECAYS))
def test_schedule_follows_formula(name):
    fn, kwargs = fx.DECAYS[name]
    steps = list(range(0, 40)) + [57, 99]
    got, _ = _values(fn, kwargs, steps)
    want = np.array([_formula(fn, kwargs, s) for s in steps])
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30)


def test_errors():
    with pytest.raises(ValueError, match="global_step is required for exponential_decay"):
        tf.train.exponential_decay(0.1, None, 10, 0.5)
    with pytest.raises(ValueError, match="global_step is required for polynomial_decay"):
        tf.train.polynomial_decay(0.1, None, 10)
    gs = tf.train.get_or_create_global_step()
    with pytest.raises(ValueError, match="length of boundaries should be 1 less"):
        tf.train.piecewise_constant(gs, [1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="same dtype"):
        tf.train.piecewise_constant(gs, [1], [0.1, np.float64(0.2)])


def test_decayed_rate_drives_an_optimizer():
    gs = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(1.0, gs, 1, 0.5, staircase=True)
    v = tf.Variable([0.0], name="v")
    train = tf.train.GradientDescentOptimizer(lr).apply_gradients([(tf.constant([1.0]), v)], global_step=gs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert sess.run(v)[0] == -(1.0 + 0.5 + 0.25) and sess.run(gs) == 3


def test_global_step_helpers():
    assert tf.train.get_global_step() is None
    gs = tf.train.get_or_create_global_step()
    assert gs.op.name == "global_step" and gs.dtype == tf.int64 and gs.get_shape() == tf.TensorShape([])
    assert not gs.trainable and tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [gs]
    assert tf.train.get_or_create_global_step() is gs and tf.train.get_global_step() is gs
    with pytest.raises(ValueError, match='"global_step" already exists'):
        tf.train.create_global_step()
    with tf.Graph().as_default():  # found by name when not in the collection
        v = tf.Variable(0, dtype=tf.int64, name="global_step", trainable=False)
        assert tf.train.get_global_step().name == v.name
    with tf.Graph().as_default():
        tf.Variable(0.0, name="global_step")
        with pytest.raises(TypeError, match="does not have integer type"):
            tf.train.get_global_step()
    with tf.Session() as sess:
        sess.run(gs.initializer)
        assert tf.train.global_step(sess, gs) == 0
