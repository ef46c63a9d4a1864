"""Saver save / restore of many small variables (10,000 × 1 KiB), per variable, against TF and plain I/O.

What it measures is the fixed cost per tensor (index entry, CRC, syscalls, Python), not bandwidth:
10 MiB in all. graphvar is timed with its default ``durable=True`` (fsync of data, index, directory)
and with ``durable=False`` (TF's behaviour: no fsync); TF's Saver and the plain write are timed
without an fsync, plus a plain write with one for the durable figure. Restores read from the page
cache; the plain limit is one ``readinto`` per variable from one file into preallocated buffers.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import numpy as np

from benchmarks.cases_saver import raw_readinto, raw_write, remove
from benchmarks.harness import Bench, Goal, Row, Stat, frameworks, measure

VAR_BYTES = 1024


def _arrays(nvars: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"var_{i}": rng.random(VAR_BYTES // 4, dtype=np.float32) for i in range(nvars)}


def _build(tf: Any, arrays: dict[str, np.ndarray]) -> tuple[Any, Any, list]:
    """(session, saver, variables): each variable initialized from its array (a constant: 10,000
    placeholders and feeds would take minutes to build in TF)."""
    g = tf.Graph()
    with g.as_default():
        variables = [tf.Variable(arr, name=name) for name, arr in arrays.items()]
        init = tf.global_variables_initializer()
        saver = tf.train.Saver(variables)
    sess = tf.Session(graph=g)
    sess.run(init)
    return sess, saver, variables


def _plain_write(path: str, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb", buffering=0) as f:
        for arr in arrays.values():
            f.write(memoryview(arr).cast("B"))


def _benches(ctx: Any, arrays: dict[str, np.ndarray], where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"save": {}, "restore": {}}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str):
            out["save"][name] = out["restore"][name] = tf
            continue
        sess, saver, variables = _build(tf, arrays)
        ctx.closers.append(sess.close)
        savers = {name: saver}
        if name == "graphvar":
            try:
                savers["graphvar durable=False"] = tf.train.Saver(variables, durable=False)
            except TypeError as e:
                out["save"]["graphvar durable=False"] = f"missing: {e}"
        for label, sv in savers.items():
            prefix = os.path.join(where, label.replace(" ", "_").replace("=", "_"), "model.ckpt")
            os.makedirs(os.path.dirname(prefix), exist_ok=True)
            save = lambda sv=sv, sess=sess, prefix=prefix: sv.save(sess, prefix, write_meta_graph=False)  # noqa: E731
            out["save"][label] = Bench(save, setup=lambda p=prefix: remove(p + ".*"))
            if label != "graphvar durable=False":
                out["restore"][label] = Bench(lambda sv=sv, sess=sess, prefix=prefix: sv.restore(sess, prefix))
    raw, buffers = os.path.join(where, "raw.bin"), {k: np.empty_like(a) for k, a in arrays.items()}
    out["save"]["limit: plain write"] = Bench(lambda: _plain_write(raw, arrays), setup=lambda: remove(raw))
    out["save"]["limit: plain write+fsync"] = Bench(lambda: raw_write(raw, arrays), setup=lambda: remove(raw))
    out["restore"]["limit: plain readinto"] = Bench(lambda: raw_readinto(raw, buffers))
    return out


def _per_var(stat: Stat | str, n: int) -> Stat | str:
    return Stat(stat.median / n, stat.min / n, stat.reps) if isinstance(stat, Stat) else stat


def case_saver_small(ctx: Any) -> list[Row]:
    nvars = ctx.size("saver_small_vars")
    where = os.path.join(ctx.tmpdir, "saver_small")
    os.makedirs(where, exist_ok=True)
    ctx.closers.append(lambda: shutil.rmtree(where, ignore_errors=True))
    benches = _benches(ctx, _arrays(nvars), where)
    reps = max(ctx.io_reps, 5)
    saves = {k: _per_var(v, nvars) for k, v in measure(benches["save"], reps=reps, number=1).items()}
    restores = {k: _per_var(v, nvars) for k, v in measure(benches["restore"], reps=reps, number=1).items()}
    tag = f"{nvars:,} variables of {VAR_BYTES} B, per variable"
    per_var_goal = Goal(None, "<=", 10e-6, "≤ 10 µs per variable")
    fast = {k: saves[k] for k in ("limit: plain write", "tf", "graphvar") if k in saves}
    durable = {k: saves[k] for k in ("limit: plain write+fsync", "tf") if k in saves}
    return [
        Row("saver_small", f"Saver save durable=False, {tag}", "time", saves.get("graphvar durable=False", "missing"),
            fast, goals=[per_var_goal, Goal("tf", ">=", 1.0, "≤ 1× TF's time")],
            note="graphvar row: durable=False; the 'graphvar' reference is the default durable=True"),
        Row("saver_small", f"Saver save durable=True (default), {tag}", "time", saves["graphvar"], durable,
            goals=[per_var_goal], note="TF does not fsync; the plain write+fsync does"),
        Row("saver_small", f"Saver restore, {tag}", "time", restores.pop("graphvar"),
            {k: restores[k] for k in ("limit: plain readinto", "tf") if k in restores},
            goals=[per_var_goal, Goal("tf", ">=", 1.0, "≤ 1× TF's time")]),
    ]  # fmt: skip


CASES = {"saver_small": case_saver_small}
