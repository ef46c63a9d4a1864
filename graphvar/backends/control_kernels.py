"""The Cond kernel: evaluates only the taken branch's lazy outputs (graphvar/ops/cond_ops.py)."""

from __future__ import annotations

from typing import Any


def _value(t: Any, v: Any) -> Any:
    return v[t.value_index] if len(t.op._outputs) > 1 else v  # a multi-output producer returns a tuple


def make_control_kernels(xp: Any) -> dict[str, Any]:
    def cond(step: Any, args: list, ctx: Any) -> Any:
        a = step.attrs
        n, k = a["num_outputs"], a["num_captured"]
        first = 1 + k if bool(args[0]) else 1 + k + n
        inputs = step.op._inputs
        values = tuple(_value(inputs[i], args[i]()) for i in range(first, first + n))
        return values if n > 1 else values[0]

    return {"Cond": cond}
