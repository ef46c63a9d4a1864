"""BLAS threads per plan: a plan whose matrix products are all small runs BLAS on one thread.

Waking BLAS worker threads costs more than a small product takes (on a loaded 2-core box a
64×256×256 float32 matmul takes 0.11 ms on one OpenBLAS thread and 30 ms on two), so a plan whose
largest product (``blas`` ops) is below `SMALL_WORK` multiply-adds limits BLAS to one thread for
the length of its run and then restores what was set before; a plan with a larger product leaves
BLAS as the process set it (all cores by default, or a user's own threadpoolctl limit). The work
of a product is sqrt(|a|·|b|·|out|) elements (m·n·k for a matmul, B·m·n·k batched), from static
shapes where they are known and otherwise from the shapes seen in the plan's first run.

Threads are set through threadpoolctl (which finds NumPy's OpenBLAS, MKL or BLIS at run time).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

# Measured with `python -m benchmarks --only blas_threshold` (benchmarks/RESULTS.md): on the shared
# 2-core box one thread won at every size up to 1024³; above this the product is long enough that
# the wake-up no longer matters wherever cores are free.
SMALL_WORK = int(os.environ.get("GRAPHVAR_BLAS_SMALL_WORK", str(1 << 30)))
UNKNOWN = object()  # the plan's products have run-time shapes: decided after its first run

_lock = threading.Lock()
_active = 0  # runs inside `one_thread` now (threads are restored when the last one leaves)
_saved: list[tuple[Any, int]] = []
_controllers: list[Any] | None = None


def work(a: Any, b: Any, out: Any) -> float:
    """Multiply-adds of a product from the element counts of its two operands and its result."""
    return math.sqrt(float(a) * float(b) * float(out))


def static_decision(steps: list) -> Any:
    """`one_thread` when every product in `steps` is small, None when one is large (or there is none),
    UNKNOWN when a product's shapes are known only at run time."""
    products = [s for s in steps if s.op_def.blas]
    if not products:
        return None
    sizes = []
    for s in products:
        shapes = [t.shape for t in (*s.op._inputs[:2], s.op._outputs[0])]
        if not all(sh.is_fully_defined() for sh in shapes):
            return UNKNOWN
        sizes.append(work(*(math.prod(sh.as_tuple()) for sh in shapes)))
    return one_thread if max(sizes) < SMALL_WORK else None


def observed_decision(seen: list[float]) -> Any:
    return one_thread if seen and max(seen) < SMALL_WORK else None


def _blas() -> list[Any]:
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            _controllers = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: leave threads alone
            _controllers = []
    return _controllers


class _OneThread:
    """Context manager: BLAS on one thread while at least one small-product run is inside."""

    def __enter__(self) -> None:
        global _active
        with _lock:
            if _active == 0:
                for c in _blas():
                    n = c.num_threads
                    if n != 1:
                        c.set_num_threads(1)
                        _saved.append((c, n))
            _active += 1

    def __exit__(self, *exc: Any) -> None:
        global _active
        with _lock:
            _active -= 1
            if _active == 0:
                while _saved:
                    c, n = _saved.pop()
                    c.set_num_threads(n)


one_thread = _OneThread()
