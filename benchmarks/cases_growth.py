"""How cost grows: run overhead vs graph size, init time vs model size, save time vs checkpoint size.

No goals here: the rows show whether a cost stays flat (fetching one variable in a big
graph), grows linearly (a chain of N ops, a fill of N elements, a save of N bytes) or worse.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from benchmarks.cases_random import initializer_stats
from benchmarks.cases_saver import make_arrays, writers
from benchmarks.harness import Row, frameworks, measure


def _chain_graph(tf: Any, n: int) -> dict:
    v = tf.Variable(1.0, name="v")
    x = v
    for _ in range(n - 2):  # starts from the variable so that TF's Grappler cannot fold the chain away
        x = x + 1.0
    return {"v": v, "end": x, "init": tf.global_variables_initializer()}


def case_growth_run(ctx: Any) -> list[Row]:
    rows = []
    for n in ctx.size("growth_ops"):
        fetch_var, chain = {}, {}
        for name, tf in frameworks(ctx).items():
            if isinstance(tf, str):
                fetch_var[name] = chain[name] = tf
                continue
            g = tf.Graph()
            with g.as_default():
                built = _chain_graph(tf, n)
            sess = tf.Session(graph=g)
            ctx.closers.append(sess.close)
            sess.run(built["init"])
            fetch_var[name] = lambda sess=sess, v=built["v"]: sess.run(v)
            chain[name] = lambda sess=sess, end=built["end"]: sess.run(end)
        for label, benches in ((f"run fetching one variable, graph of {n} ops", fetch_var),
                               (f"run of a chain of {n} ops (x = v; x = x + 1.0)", chain)):  # fmt: skip
            stats = measure(benches, reps=ctx.reps, target_s=ctx.target_s)
            rows.append(Row("growth_run", label, "time", stats.pop("graphvar"), stats))
        ctx.close()
    return rows


def case_growth_init(ctx: Any) -> list[Row]:
    rows = []
    for n in ctx.size("growth_init"):
        stats = initializer_stats(ctx, "random_normal", n, with_limit=False)
        rows.append(Row("growth_init", f"random_normal init of {n:,} float32", "time", stats.pop("graphvar"), stats))
        ctx.close()
    return rows


def case_growth_save(ctx: Any) -> list[Row]:
    rows = []
    for total in ctx.size("growth_save"):
        where = os.path.join(ctx.tmpdir, f"growth-{total}")
        os.makedirs(where, exist_ok=True)
        w = writers(ctx, make_arrays(total, ctx.size("saver_vars")), where)
        benches = {
            k: v if isinstance(v, str) else v["save"] for k, v in w.items() if k != "safetensors" and "save" in v
        }
        stats = measure(benches, reps=ctx.io_reps, number=1)
        label = f"save of {total / 2**20:g} MiB (8 variables)"
        rows.append(Row("growth_save", label, "time", stats.pop("graphvar"), stats))
        ctx.close()
        shutil.rmtree(where, ignore_errors=True)
    return rows


CASES = {"growth_run": case_growth_run, "growth_init": case_growth_init, "growth_save": case_growth_save}
