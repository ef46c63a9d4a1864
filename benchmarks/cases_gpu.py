"""GPU initializer throughput (CuPy backend) against device-to-device copy, cupy.random and torch.

Skipped with "no GPU" unless CuPy imports and sees a device. Throughput is in elements per
second; the limit is a float32 device-to-device copy of the same number of elements.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.harness import Goal, Row, Stat, measure, optional_module

KINDS = {
    "random_normal": lambda tf, n: tf.random_normal([n], seed=1),
    "truncated_normal": lambda tf, n: tf.truncated_normal([n], seed=1),
    "random_uniform": lambda tf, n: tf.random_uniform([n], seed=1),
    "zeros": lambda tf, n: tf.zeros([n]),
}


def _no_gpu() -> str | None:
    cupy = optional_module("cupy")
    if isinstance(cupy, str):
        return "skipped: no GPU (cupy not installed)"
    try:
        return None if cupy.cuda.runtime.getDeviceCount() > 0 else "skipped: no GPU"
    except Exception as e:
        return f"skipped: no GPU ({type(e).__name__})"


def _graphvar_init(ctx: Any, kind: str, n: int, sync: Any) -> Any:
    import graphvar as tf

    try:
        from graphvar.backends import cupy_backend  # noqa: F401
    except ImportError:
        return "missing: graphvar CuPy backend"
    g = tf.Graph()
    with g.as_default(), tf.device("/GPU:0"):
        v = tf.Variable(KINDS[kind](tf, n), name="v")
    sess = tf.Session(graph=g)
    ctx.closers.append(sess.close)
    return lambda: (sess.run(v.initializer), sync())


def case_gpu(ctx: Any) -> list[Row]:
    why = _no_gpu()
    if why:
        return [Row("gpu", "GPU initializers vs device copy, cupy.random, torch", "rate", why)]
    import cupy

    n, sync = ctx.size("gpu_elems"), cupy.cuda.Device().synchronize
    src, dst = cupy.ones(n, np.float32), cupy.empty(n, np.float32)
    torch = optional_module("torch")
    rows = []
    for kind in KINDS:
        benches: dict[str, Any] = {"graphvar": _graphvar_init(ctx, kind, n, sync)}
        if kind in ("random_normal", "random_uniform"):
            draw = cupy.random.standard_normal if kind == "random_normal" else cupy.random.random
            benches["cupy.random"] = lambda draw=draw: (draw(n, dtype=np.float32), sync())
            if isinstance(torch, str) or not torch.cuda.is_available():
                benches["torch"] = "missing: torch with CUDA"
            else:
                fn = torch.randn if kind == "random_normal" else torch.rand
                benches["torch"] = lambda fn=fn: (fn(n, device="cuda"), torch.cuda.synchronize())
        benches["limit: device-to-device copy"] = lambda: (cupy.copyto(dst, src), sync())
        stats = measure(benches, reps=ctx.reps, number=None, target_s=ctx.target_s)
        goals = [Goal("cupy.random", ">=", 1.0, "≥ cupy.random")] if "cupy.random" in benches else []
        frac = D2D_GOALS[kind]
        goals.append(Goal("limit: device-to-device copy", ">=", frac, f"≥ {frac:.0%} of a device copy"))
        rows.append(Row("gpu", f"GPU {kind} initializer, {n / 2**20:g}M float32", "rate", stats.pop("graphvar"),
                        stats, amount=n, unit="M/s", goals=goals))  # fmt: skip
    return rows


D2D_GOALS = {"random_uniform": 0.8, "random_normal": 0.6, "truncated_normal": 0.6, "zeros": 0.9}


def case_gpu_saver(ctx: Any) -> list[Row]:
    """The Saver from the GPU and a cached plan's run overhead (cases in benchmarks/gpu.py)."""
    why = _no_gpu()
    if why:
        return [Row("gpu_saver", "GPU Saver save and cached-plan overhead", "rate", why)]
    import cupy

    from benchmarks import gpu

    n = min(ctx.size("gpu_elems"), 256 << 20)
    rows = [_to_row(d) for d in gpu._saver_rows(cupy, n, 3) + gpu._overhead_rows(cupy, ctx.reps)]
    for row in rows:
        if row.case == "gpu_saver_save":
            row.goals = [Goal("limit:disk write", ">=", 0.8, "≥ 0.8× disk write"),
                         Goal("limit:pinned d2h copy", ">=", 0.8, "≥ 0.8× pinned copy")]  # fmt: skip
    return rows


def _to_row(d: dict) -> Row:
    def stat(v: Any) -> Any:
        return Stat(**v) if isinstance(v, dict) else v

    refs = {k: stat(v) for k, v in d["refs"].items()}
    return Row(d["case"], d["figure"], d["kind"], stat(d["graphvar"]), refs, amount=d["amount"], unit=d["unit"],
               note=d.get("note", ""))  # fmt: skip


CASES = {"gpu": case_gpu, "gpu_saver": case_gpu_saver}
