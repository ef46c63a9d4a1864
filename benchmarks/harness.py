"""Timing, results and references shared by every benchmark case.

A case returns `Row`s. A row holds graphvar's measurement and its references' (other
libraries, or the machine's own limit such as a plain write of the same bytes), each a
`Stat` (per-call seconds: median and min over repetitions, or bytes for memory) or a string
saying why it is absent ("missing: tensorflow not installed"). Ratios are always graphvar's
advantage: > 1 means graphvar is better (faster, higher throughput, less memory).
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class Stat:
    median: float  # seconds per call ("time", "rate") or bytes ("memory")
    min: float
    reps: int = 1

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Goal:
    """graphvar's advantage over `ref` must be `op` `target` (ref None: an absolute bound on graphvar's value)."""

    ref: str | None
    op: str  # ">=", ">" or "<="
    target: float
    text: str

    def check(self, row: Row) -> bool | None:
        value = row.display_value(row.graphvar) if self.ref is None else row.ratio(self.ref)
        if value is None:
            return None
        return {">=": value >= self.target, ">": value > self.target, "<=": value <= self.target}[self.op]


@dataclasses.dataclass
class Row:
    """One figure: graphvar against its references.

    kind: "time" (lower is better), "rate" (`amount` units per call; higher is better) or
    "memory" (bytes; lower is better). `refs` keeps insertion order; names starting with
    "limit:" are the machine's own limit.
    """

    case: str
    figure: str
    kind: str
    graphvar: Stat | str
    refs: dict[str, Stat | str] = dataclasses.field(default_factory=dict)
    amount: float = 1.0
    unit: str = ""  # for "rate": "M/s" (elements) or "GB/s" (bytes)
    goals: list[Goal] = dataclasses.field(default_factory=list)
    note: str = ""

    def display_value(self, stat: Stat | str, best: bool = False) -> float | None:
        if not isinstance(stat, Stat):
            return None
        v = stat.min if best else stat.median
        if self.kind == "rate":
            scale = 1e6 if self.unit == "M/s" else 1e9
            return self.amount / v / scale if v > 0 else float("inf")
        if self.kind == "memory":
            return v / 2**20
        return v

    def ratio(self, ref: str) -> float | None:
        """graphvar's advantage over `ref` on medians (> 1: graphvar better)."""
        g, r = self.graphvar, self.refs.get(ref)
        if not isinstance(g, Stat) or not isinstance(r, Stat):
            return None
        if self.kind == "memory" and min(g.median, r.median) < 2**20:
            return None  # below 1 MiB the ratio of two noise levels means nothing
        return r.median / g.median if g.median > 0 else float("inf")  # per-call times or bytes: lower is better

    def to_json(self) -> dict:
        enc = lambda s: s.to_json() if isinstance(s, Stat) else s  # noqa: E731
        return {
            "case": self.case,
            "figure": self.figure,
            "kind": self.kind,
            "unit": self.display_unit(),
            "amount": self.amount,
            "graphvar": enc(self.graphvar),
            "graphvar_display": self.display_value(self.graphvar),
            "refs": {k: enc(v) for k, v in self.refs.items()},
            "refs_display": {k: self.display_value(v) for k, v in self.refs.items()},
            "ratios": {k: self.ratio(k) for k in self.refs},
            "goals": [{"text": g.text, "met": g.check(self)} for g in self.goals],
            "note": self.note,
        }

    def display_unit(self) -> str:
        return {"time": "s", "memory": "MiB"}.get(self.kind, self.unit)


# ---- timing ----
@dataclasses.dataclass
class Bench:
    """A timed callable; `setup` runs untimed before every call (e.g. deleting last rep's files)."""

    fn: Callable[[], Any]
    setup: Callable[[], Any] | None = None


def calibrate(fn: Callable[[], Any], target_s: float) -> int:
    """Calls per repetition so that one repetition takes about `target_s`."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, min(1_000_000, int(target_s / one)))


def measure(benches: dict[str, Bench | Callable | str], reps: int, number: int | None = None,
            target_s: float = 0.02, warmup: int = 1) -> dict[str, Stat | str]:  # fmt: skip
    """Per-call time of each bench, interleaved round by round so drift hits all alike.

    A string value (a "missing: ..." reason) passes through. `number` calls per repetition
    (calibrated per bench to about `target_s` when None).
    """
    live = {k: (b if isinstance(b, Bench) else Bench(b)) for k, b in benches.items() if not isinstance(b, str)}
    counts = {}
    for name, b in live.items():
        for _ in range(warmup):
            if b.setup:
                b.setup()
            b.fn()
        counts[name] = number if number is not None else (1 if b.setup else calibrate(b.fn, target_s))
    samples: dict[str, list[float]] = {k: [] for k in live}
    for _ in range(reps):
        for name, b in live.items():
            samples[name].append(_time_once(b, counts[name]))
    out: dict[str, Stat | str] = {}
    for name, b in benches.items():
        if isinstance(b, str):
            out[name] = b
        else:
            s = samples[name]
            out[name] = Stat(statistics.median(s), min(s), len(s))
    return out


def _time_once(b: Bench, n: int) -> float:
    if b.setup:
        b.setup()
    gc.collect()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        fn = b.fn
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n
    finally:
        if gc_was:
            gc.enable()


def pin_blas_threads(n: int) -> tuple[str, Callable[[], Any]]:
    """Sets this process's OpenBLAS thread count (NumPy's BLAS); returns (what was done, an undo).

    In-process, so graphvar and its references are still timed interleaved in one process.
    Uses threadpoolctl when installed, else OpenBLAS's own setter found in /proc/self/maps.
    """
    import ctypes
    import functools
    import os

    try:
        import threadpoolctl

        limits = threadpoolctl.threadpool_limits(n, user_api="blas")
        return f"threadpoolctl {n} thread(s)", limits.restore_original_limits
    except ImportError:
        pass
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line})
    except OSError:
        libs = []
    for path in libs:
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                setter, getter = f"{prefix}set_num_threads{suffix}", f"{prefix}get_num_threads{suffix}"
                if hasattr(lib, setter) and hasattr(lib, getter):
                    before = getattr(lib, getter)()
                    getattr(lib, setter)(ctypes.c_int(n))
                    undo = functools.partial(getattr(lib, setter), ctypes.c_int(before))
                    return f"{os.path.basename(path)} {n} thread(s)", undo
    return "not pinned (no OpenBLAS found)", lambda: None


# ---- references ----
_tf_cache: dict[str, Any] = {}


def tf_v1() -> Any:
    """`tensorflow.compat.v1` in graph mode, or a "missing: ..." string."""
    if "tf" not in _tf_cache:
        try:
            import os

            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            # tf.compat.v1.layers needs the tf-keras package on TF >= 2.16 (the bench extra installs it)
            os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
            import tensorflow as tf  # noqa: F401

            v1 = tf.compat.v1
            v1.disable_eager_execution()
            v1.logging.set_verbosity(v1.logging.ERROR)
            _tf_cache["tf"] = v1
        except Exception as e:  # ImportError, or a broken install
            _tf_cache["tf"] = f"missing: tensorflow ({type(e).__name__})"
    return _tf_cache["tf"]


def optional_module(name: str) -> Any:
    """The imported module, or a "missing: ..." string."""
    try:
        import importlib

        return importlib.import_module(name)
    except Exception as e:
        return f"missing: {name} ({type(e).__name__})"


def frameworks(ctx: Any) -> dict[str, Any]:
    """{"graphvar": module, "tf": tf.compat.v1 module or why it is absent}."""
    import graphvar

    return {"graphvar": graphvar, "tf": tf_v1() if ctx.references else "skipped (--graphvar-only)"}
