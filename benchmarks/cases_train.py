"""Training steps of the demo's MLP (784-256-256-10, softmax cross-entropy, Adam): graphvar against TF.

Both sides build the model with `graphvar.demo.build_model` (the builder takes the module as `tf`)
and run the demo's step, ``make_callable([loss, train_op], [x, labels])``, over the same 8
generated batches in the same order, timed interleaved in one process. BLAS is pinned to the
same thread count on both sides: NumPy's OpenBLAS in-process (graphvar's kernels), TF's
intra/inter-op pools through ``ConfigProto``; one thread by default (``GRAPHVAR_BENCH_THREADS``),
the comparison that does not depend on what else runs on a shared machine.

graphvar's own overhead is the time of a plan's run minus the time inside its kernels, measured
by wrapping every step's kernel in a timer (as a profiler would, here only) and subtracting the
wrapper's own cost; the note names the op types the kernel time goes to.
"""

from __future__ import annotations

import collections
import itertools
import os
import time
from typing import Any

from benchmarks.harness import Goal, Row, Stat, frameworks, measure, pin_blas_threads

BATCHES = {64: 1.5, 512: 1.0}  # batch: goal (× TF's steps/s)
THREADS = int(os.environ.get("GRAPHVAR_BENCH_THREADS", "1"))
N_BATCHES = 8


def _batches(batch: int) -> list[tuple[Any, Any]]:
    from graphvar.demo import make_dataset

    (x, y), _ = make_dataset(n_train=batch * N_BATCHES, n_test=1, seed=0)
    return [(x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]) for i in range(N_BATCHES)]


def _trainer(tf: Any) -> tuple[Any, dict]:
    """A session with the demo model built and initialized, and the model's tensors."""
    from graphvar.demo import build_model

    g = tf.Graph()
    with g.as_default():
        m = build_model(tf)
        init = tf.global_variables_initializer()
    config = tf.ConfigProto(intra_op_parallelism_threads=THREADS, inter_op_parallelism_threads=THREADS)
    sess = tf.Session(graph=g, config=config)
    sess.run(init)
    return sess, m


def _step_fn(sess: Any, m: dict, batches: list) -> Any:
    run = sess.make_callable([m["loss"], m["train_op"]], [m["x"], m["labels"]])
    feeds = itertools.cycle(batches)
    return lambda: run(*next(feeds))


def _wrapper_cost(timed: Any) -> float:
    """Seconds the timing wrapper adds to a step beyond a bare kernel call (subtracted from the overhead)."""
    noop = lambda step, args, ctx: None  # noqa: E731
    totals: dict[str, float] = collections.defaultdict(float)
    wrapped, n = timed(noop, "noop", totals), 20000
    t0 = time.perf_counter()
    for _ in range(n):
        noop(None, (), None)
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n):
        wrapped(None, (), None)
    return max((time.perf_counter() - t0 - totals["noop"] - bare) / n, 0.0)


def _timed(kernel: Any, op_type: str, totals: dict) -> Any:
    clock = time.perf_counter

    def run(step: Any, args: Any, ctx: Any) -> Any:
        t0 = clock()
        try:
            return kernel(step, args, ctx)
        finally:
            totals[op_type] += clock() - t0

    return run


def profile(sess: Any, m: dict, batches: list, reps: int, number: int) -> tuple[Stat, dict[str, float], int]:
    """graphvar's per-step overhead (plan run minus kernels), kernel seconds per step by op type, plan steps."""
    fetches = [m["loss"], m["train_op"]]
    feeds = [{m["x"]: x, m["labels"]: y} for x, y in batches]
    sess.run(fetches, feeds[0])
    train_op = m["train_op"]
    runner = next(r for r in sess._runners.values() if any(s.op is train_op for s in r.steps))
    totals: dict[str, float] = collections.defaultdict(float)
    originals = [(s, s.kernel) for s in runner.steps]
    artifact = _wrapper_cost(_timed) * len(originals)
    for s, k in originals:
        s.kernel = _timed(k, s.op.type, totals)
    runner.recompile()  # the plan's generated function binds its kernels when built
    samples, calls = [], 0
    try:
        for _ in range(reps):
            inside = sum(totals.values())
            t0 = time.perf_counter()
            for i in range(number):
                sess.run(fetches, feeds[i % len(feeds)])
            wall = time.perf_counter() - t0
            samples.append(max((wall - (sum(totals.values()) - inside)) / number - artifact, 0.0))
            calls += number
    finally:
        for s, k in originals:
            s.kernel = k
        runner.recompile()
    samples.sort()
    per_op = {k: v / calls for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    return Stat(samples[len(samples) // 2], samples[0], len(samples)), per_op, len(originals)


def _fmt_ms(s: float) -> str:
    return f"{s * 1e3:.2f} ms"


def _batch_rows(ctx: Any, batch: int, goal: float, pinned: str) -> list[Row]:
    batches = _batches(batch)
    benches: dict[str, Any] = {}
    sessions: dict[str, Any] = {}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str):
            benches[name] = tf
            continue
        sess, m = _trainer(tf)
        ctx.closers.append(sess.close)
        sessions[name] = (sess, m)
        benches[name] = _step_fn(sess, m, batches)
    stats = measure(benches, reps=ctx.reps, target_s=10 * ctx.target_s, warmup=3)
    gv = stats.pop("graphvar")
    rate = lambda s: f"{1 / s.median:.0f} steps/s" if isinstance(s, Stat) else s  # noqa: E731
    pinning = f"{THREADS} thread(s): BLAS {pinned}; TF intra/inter_op_parallelism_threads={THREADS}"
    figure = f"training step, demo MLP 784-256-256-10 + Adam, batch {batch}"
    goals = [Goal("tf", ">=", goal, f"≥ {goal:g}× TF's steps/s")]
    note = f"graphvar {rate(gv)}, tf {rate(stats.get('tf'))}; {pinning}"
    rows = [Row("train", figure, "time", gv, stats, goals=goals, note=note)]
    sess, m = sessions["graphvar"]
    number = max(1, int(10 * ctx.target_s / gv.median)) if isinstance(gv, Stat) else 1
    overhead, per_op, n_steps = profile(sess, m, batches, ctx.reps, number)
    kernels = sum(per_op.values())
    top = ", ".join(f"{k} {_fmt_ms(v)}" for k, v in itertools.islice(per_op.items(), 6))
    rows.append(Row("train", f"graphvar overhead per training step (plan run minus kernels), batch {batch}",
                    "time", overhead,
                    note=f"{n_steps} plan steps; kernels {_fmt_ms(kernels)} per step: {top}"))  # fmt: skip
    return rows


def case_train(ctx: Any) -> list[Row]:
    pinned, restore = pin_blas_threads(THREADS)
    ctx.closers.append(restore)
    rows: list[Row] = []
    for batch, goal in BATCHES.items():
        rows.extend(_batch_rows(ctx, batch, goal, pinned))
    return rows


CASES = {"train": case_train}
