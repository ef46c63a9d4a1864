"""Training steps of the demo's MLP (784-256-256-10, softmax cross-entropy, Adam): graphvar against TF.

Both sides build the model with `graphvar.demo.build_model` (the builder takes the module as `tf`)
and run the demo's step, ``make_callable([loss, train_op], [x, labels])``, over the same 8
generated batches in the same order, timed interleaved in one process. BLAS is pinned to the
same thread count on both sides: NumPy's OpenBLAS in-process (graphvar's kernels), TF's
intra/inter-op pools through ``ConfigProto``; one thread by default (``GRAPHVAR_BENCH_THREADS``),
the comparison that does not depend on what else runs on a shared machine.

`train_update` times the ApplyAdam kernel alone against the same formula fused through numexpr
(3 evaluations per variable instead of 12 NumPy passes), which is why graphvar does not use numexpr.

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

import numpy as np

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


# ---- the host Adam update: graphvar's NumPy kernel against the same formula fused through numexpr ----
ADAM_SHAPES = [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]  # the demo MLP's variables
ADAM_HYPER = tuple(map(np.float32, (0.9, 0.999, 1e-3, 1e-8, 0.9, 0.999)))  # beta1, beta2, lr, eps, powers


def _numexpr_adam(threads: int) -> Any:
    """TF's Adam in TF's float32 order as 3 numexpr evaluations per variable, in place (VML off)."""
    import numexpr as ne

    ne.set_num_threads(threads)
    sig = lambda names: [(n, float) for n in names.split()]  # noqa: E731  numexpr's `float` is float32
    fm = ne.NumExpr("m + (g - m) * c1", signature=sig("m g c1"))
    fv = ne.NumExpr("v + (g * g - v) * c2", signature=sig("v g c2"))
    fx = ne.NumExpr("var - (m * lr_t) / (sqrt(v) + eps)", signature=sig("var m lr_t v eps"))

    def update(var: Any, m: Any, v: Any, g: Any, c1: Any, c2: Any, lr_t: Any, eps: Any) -> None:
        fm(m, g, c1, out=m, ex_uses_vml=False)
        fv(v, g, c2, out=v, ex_uses_vml=False)
        fx(var, m, lr_t, v, eps, out=var, ex_uses_vml=False)

    return update


def _numexpr_bench(sess: Any, step: Any, variables: list, init: list) -> tuple[Any, bool]:
    """numexpr's Adam over copies of the same values, and whether one step of it equals graphvar's bits."""
    from graphvar.backends.training_kernels import adam_lr

    fused = _numexpr_adam(THREADS)
    f32 = np.float32
    b1, b2, lr, eps, b1p, b2p = ADAM_HYPER
    bufs = [[x.copy() for x in (var, m, np.abs(v))] + [grad] for var, m, v, grad in init]
    scalars = (f32(1) - b1, f32(1) - b2, adam_lr(lr, b1p, b2p), eps)
    for b in bufs:
        fused(*b, *scalars)
    sess.run(step)
    got = [x for slots in variables for x in sess.run(slots)]
    same = all(a.tobytes() == b.tobytes() for a, b in zip(got, (x for b in bufs for x in b[:3])))
    return (lambda: [fused(*b, *scalars) for b in bufs]), same


def case_train_update(ctx: Any) -> list[Row]:
    """ApplyAdam over the demo's ~270k parameters: graphvar's kernel (12 NumPy passes) vs numexpr (3)."""
    import graphvar as gv
    from graphvar.ops import training_ops

    pinned, restore = pin_blas_threads(THREADS)
    ctx.closers.append(restore)
    rng = np.random.default_rng(0)
    b1, b2, lr, eps, b1p, b2p = ADAM_HYPER
    init = [[rng.standard_normal(s).astype(np.float32) for _ in range(4)] for s in ADAM_SHAPES]  # var, m, v (abs), g
    g = gv.Graph()
    with g.as_default():
        ops, variables = [], []
        for k, (var, m, v, grad) in enumerate(init):
            slots = [gv.Variable(x, name=f"{n}{k}") for n, x in (("var", var), ("m", m), ("v", np.abs(v)))]
            variables.append(slots)
            ops.append(training_ops.apply_adam(*slots, b1p, b2p, lr, b1, b2, eps, grad).op)
        step = gv.group(*ops)
        init_op = gv.global_variables_initializer()
    sess = gv.Session(graph=g)
    ctx.closers.append(sess.close)
    sess.run(init_op)
    benches: dict[str, Any] = {"graphvar": sess.make_callable(step), "numexpr": "skipped (--graphvar-only)"}
    same = None
    if ctx.references:
        try:
            benches["numexpr"], same = _numexpr_bench(sess, step, variables, init)
        except ImportError:
            benches["numexpr"] = "missing: numexpr"
    stats = measure(benches, reps=ctx.reps, target_s=ctx.target_s, warmup=3)
    gv_stat = stats.pop("graphvar")
    note = f"{THREADS} thread(s) (BLAS {pinned}, numexpr the same)"
    if same is not None:
        note += f"; numexpr's result after one step {'equals' if same else 'DIFFERS FROM'} graphvar's bit for bit"
    figure = "ApplyAdam over the demo MLP's 270k parameters (6 variables)"
    return [Row("train_update", figure, "time", gv_stat, stats, note=note)]


CASES = {"train": case_train, "train_update": case_train_update}
