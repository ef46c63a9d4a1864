"""Kernels of ops/linalg_ops.py, written once against ``xp`` (NumPy or CuPy)."""

from __future__ import annotations

from typing import Any


def linalg_kernels(xp: Any) -> dict[str, Any]:
    def qr(step: Any, args: list, ctx: Any) -> tuple:
        mode = "complete" if step.attrs["full_matrices"] else "reduced"
        q, r = xp.linalg.qr(args[0], mode=mode)
        return xp.ascontiguousarray(q), xp.ascontiguousarray(r)

    def diag_part(step: Any, args: list, ctx: Any) -> Any:
        return xp.ascontiguousarray(xp.diagonal(args[0], axis1=-2, axis2=-1))

    return {"Qr": qr, "MatrixDiagPart": diag_part}
