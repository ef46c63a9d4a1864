"""Initializer throughput: `sess.run(v.initializer)` of a float32 variable of N elements.

The machine's limit is NumPy on the same buffer: `Generator(PCG64)` filling it in place
(one thread) for the random kinds, `ndarray.fill(0)` (memset speed) for zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.harness import Goal, Row, frameworks, measure

KINDS = {
    # name: (builder of the initial value, NumPy limit label, NumPy limit on `buf`)
    "random_normal": (lambda tf, n: tf.random_normal([n], stddev=0.35, seed=1), "limit: numpy standard_normal",
                      lambda rng, buf: rng.standard_normal(out=buf, dtype=np.float32)),
    "truncated_normal": (lambda tf, n: tf.truncated_normal([n], stddev=0.35, seed=1),
                         "limit: numpy standard_normal (NumPy has no truncated)",
                         lambda rng, buf: rng.standard_normal(out=buf, dtype=np.float32)),
    "random_uniform": (lambda tf, n: tf.random_uniform([n], seed=1), "limit: numpy random",
                       lambda rng, buf: rng.random(out=buf, dtype=np.float32)),
    "zeros": (lambda tf, n: tf.zeros([n]), "limit: numpy fill(0)", lambda rng, buf: buf.fill(0)),
}  # fmt: skip


def initializer_stats(ctx: Any, kind: str, n: int, with_limit: bool = True) -> dict:
    """Per-run time of `sess.run(v.initializer)` for graphvar and TF (and NumPy's limit)."""
    make, limit_name, limit = KINDS[kind]
    benches: dict[str, Any] = {}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str):
            benches[name] = tf
            continue
        g = tf.Graph()
        with g.as_default():
            v = tf.Variable(make(tf, n), name="v")
        sess = tf.Session(graph=g)
        ctx.closers.append(sess.close)
        benches[name] = lambda sess=sess, op=v.initializer: sess.run(op)
    if with_limit:
        rng, buf = np.random.default_rng(1), np.empty(n, np.float32)
        benches[limit_name] = lambda: limit(rng, buf)
    return measure(benches, reps=ctx.reps, number=1 if n >= 1 << 20 else None, target_s=ctx.target_s)


def _case(kind: str, goal: float) -> Any:
    def case(ctx: Any) -> list[Row]:
        n = ctx.size("init_elems")
        stats = initializer_stats(ctx, kind, n)
        text = "≥ TF's throughput" if goal == 1.0 else f"≥ {goal}× TF's throughput"
        figure = f"{kind} initializer, {n / 2**20:g}M float32"
        return [Row(f"init_{kind}", figure, "rate", stats.pop("graphvar"), stats, amount=n, unit="M/s",
                    goals=[Goal("tf", ">=", goal, text)])]  # fmt: skip

    return case


CASES = {
    "init_random_normal": _case("random_normal", 1.5),
    "init_truncated_normal": _case("truncated_normal", 1.0),
    "init_random_uniform": _case("random_uniform", 1.0),
    "init_zeros": _case("zeros", 1.0),
}
