"""GPU benchmarks: graphvar's CuPy backend against the device's own limits and other libraries.

python -m benchmarks.gpu [--quick]      # prints a table; "no GPU: skipped" without CuPy or a CUDA device

``run_gpu_benchmarks(quick) -> list[dict]``; each dict mirrors ``benchmarks.harness.Row``:
  {"case": str, "figure": str, "kind": "rate" | "time", "unit": "GB/s" | "M/s" | "s", "amount": float,
   "graphvar": {"median": s, "min": s, "reps": int} | "why absent",
   "refs": {name: {"median", "min", "reps"} | "why absent"}, "note": str}
Times are seconds per call (GPU work included: every timed call ends with a synchronize);
"rate" rows do ``amount`` units per call. Ref names starting with "limit:" are the machine's own
limits (device-to-device copy, pinned device-to-host copy, disk write).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Stat, measure


def _cupy() -> Any:
    try:
        import cupy

        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:
        return None


def _row(case: str, figure: str, kind: str, unit: str, amount: float, stats: dict, note: str = "") -> dict:
    enc = lambda s: s.to_json() if isinstance(s, Stat) else s  # noqa: E731
    return {"case": case, "figure": figure, "kind": kind, "unit": unit, "amount": float(amount),
            "graphvar": enc(stats.pop("graphvar")), "refs": {k: enc(v) for k, v in stats.items()}, "note": note}  # fmt: skip


def _synced(cupy: Any, fn: Callable[[], Any]) -> Callable[[], None]:
    def call() -> None:
        fn()
        cupy.cuda.get_current_stream().synchronize()

    return call


def _torch_ref(kind: str, n: int) -> Callable[[], None] | str:
    try:
        import torch

        if not torch.cuda.is_available():
            return "missing: torch without CUDA"
    except Exception as e:
        return f"missing: torch ({type(e).__name__})"
    out = torch.empty(n, dtype=torch.float32, device="cuda")
    fill = {"uniform": out.uniform_, "normal": out.normal_, "zeros": out.zero_}.get(kind)
    if fill is None:
        return "n/a"

    def call() -> None:
        fill()
        torch.cuda.synchronize()

    return call


def _initializer_rows(cupy: Any, n: int, reps: int) -> list[dict]:
    import graphvar as tf

    rows = []
    src, dst = cupy.empty(n, cupy.float32), cupy.empty(n, cupy.float32)
    rng = cupy.random.default_rng(1)
    cupy_refs = {"uniform": lambda: rng.random(n, dtype=cupy.float32, out=dst),
                 "normal": lambda: rng.standard_normal(n, dtype=cupy.float32, out=dst),
                 "truncated": None, "zeros": lambda: dst.fill(0)}  # fmt: skip
    makers = {"uniform": lambda: tf.random_uniform([n], seed=1), "normal": lambda: tf.random_normal([n], seed=1),
              "truncated": lambda: tf.truncated_normal([n], seed=1), "zeros": lambda: tf.zeros([n])}  # fmt: skip
    for kind, make in makers.items():
        tf.reset_default_graph()
        v = tf.Variable(make(), name="v")
        with tf.Session() as sess:
            ref = cupy_refs[kind]
            init = v.initializer
            stats = measure({"graphvar": _synced(cupy, lambda init=init: sess.run(init)),
                             "limit:d2d copy": _synced(cupy, lambda: cupy.copyto(dst, src)),
                             "cupy.random": _synced(cupy, ref) if ref else "n/a (no truncated normal)",
                             "torch": _torch_ref(kind, n)}, reps=reps, target_s=0.05)  # fmt: skip
        note = "limit:d2d copy moves 2x the bytes (read + write); an initializer only writes"
        rows.append(_row(f"gpu_init_{kind}", f"{kind} f32 x {n:,} into a variable", "rate", "GB/s", 4 * n, stats, note))
    return rows


def _saver_rows(cupy: Any, n: int, reps: int) -> list[dict]:
    import numpy as np

    import graphvar as tf

    tf.reset_default_graph()
    v = tf.Variable(tf.random_uniform([n], seed=2), name="big")
    saver = tf.train.Saver(max_to_keep=1)
    tmp = tempfile.mkdtemp(prefix="graphvar-gpu-bench-", dir=os.environ.get("GRAPHVAR_BENCH_TMP"))
    pinned = cupy.cuda.alloc_pinned_memory(8 << 20)
    host = np.ndarray((8 << 20,), np.uint8, buffer=pinned)
    chunk = cupy.empty(8 << 20, cupy.uint8)
    payload = np.ones(4 * n, np.uint8)

    def pinned_copy() -> None:  # the D2H bandwidth the Saver's staging ring can reach
        for _ in range(-(-4 * n // (8 << 20))):
            chunk.get(out=host)

    def disk_write() -> None:
        path = os.path.join(tmp, "raw")
        with open(path, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.remove(path)

    try:
        with tf.Session() as sess:
            sess.run(v.initializer)
            stats = measure({"graphvar": lambda: saver.save(sess, os.path.join(tmp, "ckpt")),
                             "limit:pinned d2h copy": _synced(cupy, pinned_copy), "limit:disk write": disk_write},
                            reps=reps, number=1)  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [_row("gpu_saver_save", f"Saver.save of a {4 * n / 2**20:,.0f} MiB GPU variable", "rate", "GB/s", 4 * n,
                 stats, "the save includes its CRC32C and fsyncs")]  # fmt: skip


def _overhead_rows(cupy: Any, reps: int) -> list[dict]:
    import graphvar as tf

    tf.reset_default_graph()
    v = tf.Variable(tf.zeros([1]), name="g")
    step = v.assign_add(tf.ones([1]))
    with tf.device("/cpu:0"):
        h = tf.Variable(tf.zeros([1]), name="h")
        host_step = h.assign_add(tf.ones([1]))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        stats = measure({"graphvar": _synced(cupy, lambda: sess.run(step.op)),
                         "graphvar on the host": lambda: sess.run(host_step.op)}, reps=reps)  # fmt: skip
    return [_row("gpu_run_overhead", "Session.run of a cached plan (AssignAdd of 1 element)", "time", "s", 1, stats)]


def run_gpu_benchmarks(quick: bool) -> list[dict]:
    """Runs the GPU cases; returns [] (and prints "no GPU: skipped") without CuPy or a CUDA device."""
    cupy = _cupy()
    if cupy is None:
        print("no GPU: skipped")
        return []
    n_init = (64 << 20) if quick else (256 << 20)
    n_save = (64 << 20) if quick else (256 << 20)  # float32: 256 MiB / 1 GiB
    reps = 5 if quick else 9
    rows: list[dict] = []
    for name, case in (("initializers", lambda: _initializer_rows(cupy, n_init, reps)),
                       ("saver", lambda: _saver_rows(cupy, n_save, 3)), ("overhead", lambda: _overhead_rows(cupy, reps))):  # fmt: skip
        try:
            rows += case()
        except Exception as e:  # one failing case is a row saying so, not a lost run
            rows.append({"case": f"gpu_{name}", "figure": name, "kind": "time", "unit": "s", "amount": 1.0,
                         "graphvar": f"error: {type(e).__name__}: {e}", "refs": {}, "note": ""})  # fmt: skip
    return rows


def _show(value: Any, row: dict) -> str:
    if not isinstance(value, dict):
        return str(value)
    if row["kind"] == "rate":
        scale = 1e9 if row["unit"] == "GB/s" else 1e6
        return f"{row['amount'] / value['median'] / scale:,.2f} {row['unit']}"
    return f"{value['median'] * 1e6:,.1f} us"


def main(argv: list[str] | None = None) -> int:
    rows = run_gpu_benchmarks(quick="--quick" in (argv if argv is not None else sys.argv[1:]))
    for row in rows:
        refs = ", ".join(f"{k}: {_show(v, row)}" for k, v in row["refs"].items())
        print(f"{row['case']:<22} {row['figure']:<55} graphvar {_show(row['graphvar'], row)}; {refs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
