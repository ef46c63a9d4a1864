"""AdadeltaOptimizer, FtrlOptimizer, ProximalGradientDescentOptimizer and ExponentialMovingAverage against
TensorFlow 2.21's own runs (tests/fixtures/tf_extra.npz, written by make_tf_extra_fixtures.py)."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from tests.fixtures import make_tf_extra_fixtures as fx
from tests.fixtures.make_tf_optimizer_fixtures import STEPS, VARS, gradients, initial_value, key

F = np.load(fx.NPZ, allow_pickle=False)
# Adadelta's accum_update: TF's Eigen rsqrt is a fast approximation (a few ULP per step);
# FTRL with lr_power != -0.5: Eigen's vectorized pow
BIT_EXACT = ["adadelta", "adadelta_custom", "ftrl", "ftrl_l1_l2", "ftrl_shrinkage", "proximal_sgd",
             "proximal_sgd_l1_l2"]  # fmt: skip
ULP_BOUND = {"Adadelta_1": 8}


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ia, ib = (np.asarray(x, np.float32).view(np.int32).astype(np.int64) for x in (a, b))
    return np.abs(ia - ib)


def run_case(case: str) -> tuple[list[str], dict[str, list[np.ndarray]], set]:
    cls, kwargs = fx.CASES[case]
    with tf.Graph().as_default() as g:
        variables, grads = {}, {}
        for name, shape in VARS.items():
            scope, _, base = name.rpartition("/")
            with tf.variable_scope(scope or tf.get_variable_scope()):
                variables[name] = tf.Variable(initial_value(name, shape, "float32"), name=base)
            grads[name] = tf.placeholder(tf.float32, shape)
        train = getattr(tf.train, cls)(**kwargs).apply_gradients(
            [(grads[n], variables[n]) for n in VARS], global_step=tf.train.get_or_create_global_step()
        )
        all_vars = sorted(tf.global_variables(), key=lambda v: v.op.name)
        history: dict[str, list] = {v.op.name: [] for v in all_vars}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(STEPS):
                sess.run(train, {grads[n]: gradients(n, VARS[n], "float32")[step] for n in VARS})
                for v, value in zip(all_vars, sess.run(all_vars)):
                    history[v.op.name].append(value)
        types = {op.type for op in g.get_operations() if op.type.startswith("Apply")}
    return [v.op.name for v in all_vars], history, types


@pytest.mark.parametrize("case", BIT_EXACT)
def test_matches_tensorflow(case):
    names, history, types = run_case(case)
    assert names == list(F[key(case, "names")])
    assert types == {"ApplyFtrlV2" if "shrinkage" in case else f"Apply{fx.CASES[case][0][:-9]}"}
    for name, values in history.items():
        want = F[key(case, "value", name)]
        bound = ULP_BOUND.get(name.rpartition("/")[2], 0)
        assert ulps(np.stack(values), want).max() <= bound, f"{case}: {name}"


def test_ftrl_other_power_close_to_tensorflow():
    names, history, _ = run_case("ftrl_power")
    for name, values in history.items():
        np.testing.assert_allclose(
            np.stack(values), F[key("ftrl_power", "value", name)], rtol=1e-2, atol=1e-5
        )  # pow amplified by cancellation


def test_adadelta_follows_its_formula_in_float64():
    with tf.Graph().as_default():
        v = tf.Variable(np.array([1.0, -2.0, 3.0]), name="v")
        g = tf.placeholder(tf.float64, [3])
        train = tf.train.AdadeltaOptimizer(0.5, rho=0.75, epsilon=2.0**-10).apply_gradients([(g, v)])
        var, acc, upd = np.array([1.0, -2.0, 3.0]), np.zeros(3), np.zeros(3)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for grad in ([0.5, -1.0, 2.0], [0.1, 0.2, -0.3]):
                grad = np.array(grad)
                sess.run(train, {g: grad})
                acc = 0.75 * acc + 0.25 * grad**2
                update = np.sqrt(upd + 2.0**-10) / np.sqrt(acc + 2.0**-10) * grad
                upd = 0.75 * upd + 0.25 * update**2
                var = var - 0.5 * update
            np.testing.assert_allclose(sess.run(v), var, rtol=1e-12)


def test_ftrl_validates_arguments():
    with pytest.raises(ValueError, match="learning_rate_power"):
        tf.train.FtrlOptimizer(0.1, learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        tf.train.FtrlOptimizer(0.1, l1_regularization_strength=-1.0)


def _ema_run(case: str) -> tuple[list[str], dict, dict, str]:
    with tf.Graph().as_default():
        step, feeds, ema, variables, _ = fx.ema_graph(tf, case)
        all_vars = sorted(tf.global_variables(), key=lambda v: v.op.name)
        history: dict[str, list] = {v.op.name: [] for v in all_vars}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for s in range(fx.EMA_STEPS):
                sess.run(step, {feeds[n]: x for n, x in fx.ema_values(s).items()})
                for v, value in zip(all_vars, sess.run(all_vars)):
                    history[v.op.name].append(value)
        return [v.op.name for v in all_vars], history, ema.variables_to_restore(), ema.average_name(variables["v"])


@pytest.mark.parametrize("case", list(fx.EMA_CASES))
def test_ema_matches_tensorflow_bit_for_bit(case):
    names, history, restore, average_name = _ema_run(case)
    assert names == list(F[key("ema", case, "names")])
    assert sorted(restore) == list(F[key("ema", case, "restore")])
    assert average_name == str(F[key("ema", case, "average_name")])
    for name, values in history.items():
        np.testing.assert_array_equal(np.stack(values), F[key("ema", case, name)], err_msg=f"{case}: {name}")


def test_ema_api():
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        w = tf.Variable(0, name="counter", trainable=False)
        ema = tf.train.ExponentialMovingAverage(0.5)
        op = ema.apply([v])
        assert op.name == "ExponentialMovingAverage"
        assert ema.average(v).op.name == "v/ExponentialMovingAverage"
        assert ema.average(w) is None
        assert ema.variables_to_restore() == {"v/ExponentialMovingAverage": v, "counter": w}
        with pytest.raises(TypeError, match="half, float, or double"):
            ema.apply([w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(ema.average(v)), [1.0, 2.0])  # starts at v's initial value
            sess.run(tf.assign(v, [3.0, 4.0]))
            sess.run(op)
            np.testing.assert_array_equal(sess.run(ema.average(v)), [2.0, 3.0])
