"""Per-call overhead of a Session: fetch a variable, make_callable, assign_add, the seed's init.

Every case builds the same TF1 graph with graphvar and with `tf.compat.v1` (the builder
takes the module as `tf`) and times them interleaved in one process.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Goal, Row, frameworks, measure


def _sessions(ctx: Any, build: Any) -> dict[str, Any]:
    """{name: (session, built objects) or a "missing" reason} for graphvar and TF."""
    out = {}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str):
            out[name] = tf
            continue
        g = tf.Graph()
        with g.as_default():
            built = build(tf)
        sess = tf.Session(graph=g)
        ctx.closers.append(sess.close)
        out[name] = (sess, built)
    return out


def _timed(ctx: Any, sessions: dict, make_fn: Any) -> dict:
    benches = {k: (v if isinstance(v, str) else make_fn(*v)) for k, v in sessions.items()}
    return measure(benches, reps=ctx.reps, target_s=ctx.target_s)


def _scalar_var(tf: Any) -> Any:
    v = tf.Variable(1.0, name="v")
    return {"v": v, "inc": tf.assign_add(v, 1.0), "init": tf.global_variables_initializer()}


def _ready(sess: Any, built: dict) -> dict:
    sess.run(built["init"])
    return built


def case_run_variable(ctx: Any) -> list[Row]:
    s = _sessions(ctx, _scalar_var)
    stats = _timed(ctx, s, lambda sess, b: (_ready(sess, b), lambda: sess.run(b["v"]))[1])
    return [Row("run_variable", "Session.run fetching one variable (cached plan)", "time", stats.pop("graphvar"),
                stats, goals=[Goal("tf", ">=", 20, "≥ 20× faster than TF")])]  # fmt: skip


def case_make_callable(ctx: Any) -> list[Row]:
    s = _sessions(ctx, _scalar_var)
    stats = _timed(ctx, s, lambda sess, b: (_ready(sess, b), sess.make_callable(b["v"]))[1])
    return [Row("make_callable", "make_callable fetching one variable", "time", stats.pop("graphvar"), stats,
                goals=[Goal("tf", ">=", 10, "≥ 10× faster than TF's make_callable")])]  # fmt: skip


def case_assign_add(ctx: Any) -> list[Row]:
    s = _sessions(ctx, _scalar_var)
    stats = _timed(ctx, s, lambda sess, b: (_ready(sess, b), lambda: sess.run(b["inc"].op))[1])
    return [Row("assign_add", "run of an assign_add (op, no fetch)", "time", stats.pop("graphvar"), stats,
                goals=[Goal("tf", ">=", 20, "≥ 20× faster than TF")])]  # fmt: skip


def _seed_model(tf: Any) -> dict:
    weights = tf.Variable(tf.random_normal([784, 200], stddev=0.35), name="weights")
    biases = tf.Variable(tf.zeros([200]), name="biases")
    return {"init": tf.global_variables_initializer(), "vars": [weights, biases]}


def case_seed_init(ctx: Any) -> list[Row]:
    s = _sessions(ctx, _seed_model)
    stats = _timed(ctx, s, lambda sess, b: lambda: sess.run(b["init"]))
    return [Row("seed_init", "seed init: 784×200 random_normal(0.35) + 200 zeros, run(init_op)", "time",
                stats.pop("graphvar"), stats, goals=[Goal("tf", ">=", 2.0, "≤ 0.5× TF's time")])]  # fmt: skip


def _truncated_model(tf: Any) -> dict:
    weights = tf.Variable(tf.truncated_normal([784, 200], stddev=0.1), name="weights")
    biases = tf.Variable(tf.constant(0.1, shape=[200]), name="biases")
    return {"init": tf.global_variables_initializer(), "vars": [weights, biases]}


def case_truncated_init(ctx: Any) -> list[Row]:
    """The other TF1 idiom: truncated_normal(stddev=0.1) weights, constant(0.1) biases (no goal in the issues)."""
    s = _sessions(ctx, _truncated_model)
    stats = _timed(ctx, s, lambda sess, b: lambda: sess.run(b["init"]))
    return [Row("truncated_init", "init: 784×200 truncated_normal(0.1) + 200 constant(0.1), run(init_op)", "time",
                stats.pop("graphvar"), stats)]  # fmt: skip


CASES = {
    "run_variable": case_run_variable,
    "make_callable": case_make_callable,
    "assign_add": case_assign_add,
    "seed_init": case_seed_init,
    "truncated_init": case_truncated_init,
}
