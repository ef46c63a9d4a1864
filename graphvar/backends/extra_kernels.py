"""Kernels of the debugging ops (``ops/debug_ops.py``) and LRN (``ops/nn_extra.py``), written once
against ``xp`` (NumPy or CuPy). Print and Assert take string inputs, so only the host has them (a GPU
session runs them there)."""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any

import numpy as np

from graphvar import errors

_print_counts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session -> {op name: runs printed}
_print_lock = threading.Lock()


def summarize(value: Any, n: int) -> str:
    """TF's Tensor::SummarizeValue: the first `n` entries, space separated, "..." when there are more."""
    flat = np.asarray(value).reshape(-1)
    limit = flat.size if n < 0 else min(n, flat.size)
    items = [_format(x) for x in flat[:limit]]
    return " ".join(items) + ("..." if limit < flat.size else "")


def _format(x: Any) -> str:
    """One entry as TF's StrCat writes it: floats in the shortest of %.6g / %.9g (%.15g / %.17g) that round-trips."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, np.floating):
        short, full = (6, 9) if x.dtype.itemsize <= 4 else (15, 17)
        text = f"{x:.{short}g}"
        return text if type(x)(text) == x or not np.isfinite(x) else f"{x:.{full}g}"
    return str(x)


def _pieces(values: list, n: int) -> list[str]:
    return [f"[{summarize(v, n)}]" for v in values]


def extra_kernels(xp: Any) -> dict[str, Any]:
    """The table op type -> kernel of the debugging ops and LRN."""

    def print_op(step: Any, args: list, ctx: Any) -> Any:
        a = step.attrs
        if a["first_n"] >= 0:
            with _print_lock:
                counts = _print_counts.setdefault(ctx.session, {})
                seen = counts.get(step.op.name, 0)
                counts[step.op.name] = seen + 1
            if seen >= a["first_n"]:
                return args[0]
        sys.stderr.write(a["message"] + "".join(_pieces(args[1:], a["summarize"])) + "\n")
        return args[0]

    def assert_op(step: Any, args: list, ctx: Any) -> None:
        if bool(args[0]):
            return None
        a = step.attrs
        shown = " ".join(_pieces(args[1:], a["summarize"]))
        raise errors.InvalidArgumentError(None, step.op, f"assertion failed: {shown}\n\t [[node {step.op.name}]]")

    def check_numerics(step: Any, args: list, ctx: Any) -> Any:
        x = args[0]
        nan, inf = bool(xp.isnan(x).any()), bool(xp.isinf(x).any())
        if nan or inf:
            what = "NaN and Inf" if nan and inf else ("NaN" if nan else "Inf")
            raise errors.InvalidArgumentError(
                None, step.op, f"{step.attrs['message']} : Tensor had {what} values\n\t [[node {step.op.name}]]"
            )
        return x

    def window_sum(v: Any, r: int) -> Any:
        """sum(v[..., d - r : d + r + 1]) for each d of the last axis (zeros outside)."""
        depth = v.shape[-1]
        padded = xp.zeros(v.shape[:-1] + (depth + 2 * r,), v.dtype)
        padded[..., r : r + depth] = v
        out = padded[..., 0:depth].copy()
        for k in range(1, 2 * r + 1):
            out += padded[..., k : k + depth]
        return out

    def lrn_norm(step: Any, x: Any) -> Any:
        a, c = step.attrs, x.dtype.type
        return c(a["bias"]) + c(a["alpha"]) * window_sum(x * x, a["depth_radius"])

    def lrn(step: Any, args: list, ctx: Any) -> Any:
        x = args[0]
        return x * xp.power(lrn_norm(step, x), x.dtype.type(-step.attrs["beta"]))

    def lrn_grad(step: Any, args: list, ctx: Any) -> Any:
        # dx_k = g_k N_k^-beta - 2 alpha beta x_k sum_{|j-k|<=r} g_j y_j / N_j  (TF's LRNGradOp)
        g, x, y = args
        a, c = step.attrs, x.dtype.type
        n = lrn_norm(step, x)
        t = window_sum(g * y / n, a["depth_radius"])
        return g * xp.power(n, c(-a["beta"])) - c(2 * a["alpha"] * a["beta"]) * x * t

    host_only = {"Print": print_op, "Assert": assert_op} if xp is np else {}
    return {
        **host_only,
        "PlaceholderWithDefault": lambda step, args, ctx: args[0],
        "CheckNumerics": check_numerics,
        "IsNan": lambda step, args, ctx: xp.isnan(args[0]),
        "IsInf": lambda step, args, ctx: xp.isinf(args[0]),
        "LRN": lrn,
        "LRNGrad": lrn_grad,
    }
