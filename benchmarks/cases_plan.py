"""Plan execution (issue 15): per-op cost, an MLP forward, a foldable chain, the peak memory of an
elementwise chain, and the BLAS thread threshold. graphvar and TF compat.v1 build the same graph and
are timed interleaved in one process; memory is measured in a fresh subprocess per side.

python -m benchmarks.cases_plan --probe gv|tf   # one peak-memory measurement (used by chain_memory)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

from benchmarks.harness import Goal, Row, Stat, frameworks, measure


def _session(tf: Any, build: Any) -> tuple[Any, Any]:
    g = tf.Graph()
    with g.as_default():
        built = build(tf)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    return sess, built


def _timed(ctx: Any, build: Any, call: Any, **kw: Any) -> dict:
    benches: dict[str, Any] = {}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str):
            benches[name] = tf
            continue
        sess, built = _session(tf, build)
        ctx.closers.append(sess.close)
        benches[name] = call(sess, built)
    return measure(benches, reps=ctx.reps, target_s=ctx.target_s, **kw)


# ---- cost per added op ----
def _tanh_chain(n: int) -> Any:
    def build(tf: Any) -> Any:
        x = tf.Variable(np.linspace(-1, 1, 16, dtype=np.float32), name="x")  # a variable: nothing to fold
        for _ in range(n):
            x = tf.tanh(x)
        return x

    return build


def case_op_cost(ctx: Any) -> list[Row]:
    small, large = (100, 1000) if ctx.mode == "smoke" else (1000, 10000)
    run = lambda sess, end: lambda: sess.run(end)  # noqa: E731
    a, b = _timed(ctx, _tanh_chain(small), run), _timed(ctx, _tanh_chain(large), run)
    rows = []
    slope = {}
    for name in a:
        if isinstance(a[name], Stat) and isinstance(b[name], Stat):
            per = lambda x, y: (y - x) / (large - small)  # noqa: E731
            slope[name] = Stat(per(a[name].median, b[name].median), per(a[name].min, b[name].min), a[name].reps)
        else:
            slope[name] = a[name]
    gv = slope.pop("graphvar")
    rows.append(Row("op_cost", f"cost per added op, tanh chain {small}→{large} ops on 16 float32", "time", gv,
                    slope, goals=[Goal(None, "<=", 0.5e-6, "≤ 0.5 µs per op")]))  # fmt: skip
    for n, stats in ((small, a), (large, b)):
        stats = dict(stats)
        rows.append(Row("op_cost", f"run of a tanh chain of {n} ops", "time", stats.pop("graphvar"), stats))
    return rows


# ---- MLP forward ----
def _mlp(tf: Any) -> Any:
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    h = x
    for i in range(100):
        w = tf.Variable((rng.standard_normal((64, 64)) / 8).astype(np.float32), name=f"w{i}")
        b = tf.Variable(np.zeros(64, np.float32), name=f"b{i}")
        h = tf.tanh(tf.matmul(h, w) + b)
    return x, h


def case_mlp_forward(ctx: Any) -> list[Row]:
    batch = np.random.default_rng(1).standard_normal((32, 64)).astype(np.float32)
    stats = _timed(ctx, _mlp, lambda sess, b: lambda: sess.run(b[1], {b[0]: batch}), warmup=3)
    return [Row("mlp_forward", "100-layer MLP forward (tanh(x W + b), 64 wide), batch 32", "time",
                stats.pop("graphvar"), stats, goals=[Goal("tf", ">=", 1 / 0.7, "≤ 0.7× TF's time")],
                note="BLAS threads as each library sets them (graphvar: one thread for small products)")]  # fmt: skip


# ---- constant folding ----
def _const_chain(tf: Any) -> Any:
    x = tf.constant(1.0)
    for _ in range(10000):
        x = x + 1.0
    return x


def case_const_chain(ctx: Any) -> list[Row]:
    stats = _timed(ctx, _const_chain, lambda sess, end: lambda: sess.run(end))
    return [Row("const_chain", "x + 1.0 constant chain, 10k ops (folded)", "time", stats.pop("graphvar"), stats,
                goals=[Goal("tf", ">=", 1.0, "≤ 1× TF's time")])]  # fmt: skip


# ---- peak memory of an elementwise chain ----
def _elementwise_chain(tf: Any) -> Any:
    x = tf.Variable(tf.ones([4 << 20]), name="x")  # 16 MiB of float32
    y = x
    for i in range(48):
        y = tf.tanh(y) if i % 2 else y * 0.5
    return y


def probe(family: str) -> dict:
    from benchmarks.harness import tf_v1
    from benchmarks.memprobe import peak_during

    tf = tf_v1() if family == "tf" else __import__("graphvar")
    if isinstance(tf, str):
        return {"missing": tf}
    sess, end = _session(tf, _elementwise_chain)
    sess.run(end)  # compiled / allocator warmed: the steady state of a training loop
    held: list = []
    base, peak, method = peak_during(lambda: held.append(sess.run(end)))
    return {"extra": max(0, peak - base), "method": method}


def case_chain_memory(ctx: Any) -> list[Row]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out: dict[str, Any] = {}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str) or not ctx.memory:
            out[name] = tf if isinstance(tf, str) else "skipped (--no-memory)"
            continue
        family = "gv" if name == "graphvar" else "tf"
        proc = subprocess.run([sys.executable, "-m", "benchmarks.cases_plan", "--probe", family], cwd=root,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        try:
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            got = {"missing": f"probe failed: {proc.stderr.strip()[-200:]}"}
        out[name] = got["missing"] if "missing" in got else Stat(got["extra"], got["extra"])
    gv = out.pop("graphvar")
    return [Row("chain_memory", "peak extra RSS, 48-op elementwise chain on 16 MiB (one run, plan warm)", "memory",
                gv, out, goals=[Goal(None, "<=", 48, "≤ +48 MiB")])]  # fmt: skip


# ---- the BLAS thread threshold ----
def case_blas_threshold(ctx: Any) -> list[Row]:
    """float32 matmuls, one BLAS thread against all cores; the smallest size where all cores win."""
    from threadpoolctl import threadpool_limits

    sizes = [(32, 64, 64), (64, 256, 256), (256, 256, 256), (512, 784, 256), (1024, 1024, 1024)]
    if ctx.mode == "smoke":
        sizes = sizes[:2]
    rows, cores = [], os.cpu_count() or 1
    for m, k, n in sizes:
        a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
        stats = {}
        for threads in (1, cores):
            with threadpool_limits(threads, user_api="blas"):
                stats[threads] = measure({"x": lambda a=a, b=b: np.matmul(a, b)}, reps=ctx.reps, target_s=ctx.target_s)[
                    "x"
                ]
        rows.append(Row("blas_threshold", f"matmul {m}×{k}·{k}×{n} ({m * n * k:.2g} multiply-adds), 1 BLAS thread",
                        "time", stats[1], {f"{cores} threads": stats[cores]}))  # fmt: skip
    return rows


CASES = {
    "op_cost": case_op_cost,
    "mlp_forward": case_mlp_forward,
    "const_chain": case_const_chain,
    "chain_memory": case_chain_memory,
    "blas_threshold": case_blas_threshold,
}

if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--probe":
    t0 = time.perf_counter()
    print(json.dumps({**probe(sys.argv[2]), "seconds": round(time.perf_counter() - t0, 2)}))
