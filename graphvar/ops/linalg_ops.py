"""tf.linalg.qr / tf.qr and tf.linalg.diag_part / tf.matrix_diag_part, for tf.orthogonal_initializer.

Kernels: ``backends/linalg_kernels.py`` (xp.linalg.qr, Householder on both backends). Neither op has a
gradient rule yet: differentiating through one raises TF's LookupError naming the op.
"""

from __future__ import annotations

from typing import Any

from graphvar.framework import ops
from graphvar.framework.op_registry import register_op
from graphvar.framework.tensor_shape import TensorShape, unknown_shape


def _matrix_dims(op: Any) -> list | None:
    x = op._inputs[0]
    if not (x.dtype.is_floating or x.dtype.is_complex):
        raise TypeError(f"input of {op.name!r} ({op.type}) must be a float or complex tensor, got {x.dtype.name}")
    if x.shape.ndims is None:
        return None
    if x.shape.ndims < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {x.shape.ndims} for {op.name!r} ({op.type})")
    return x.shape.as_list()


def _qr_spec(op: Any) -> list:
    x, dims = op._inputs[0], _matrix_dims(op)
    if dims is None:
        return [(x.dtype, unknown_shape()), (x.dtype, unknown_shape())]
    *batch, m, n = dims
    k = None if m is None or n is None else min(m, n)
    if op._attrs["full_matrices"]:
        return [(x.dtype, TensorShape(batch + [m, m])), (x.dtype, TensorShape(batch + [m, n]))]
    return [(x.dtype, TensorShape(batch + [m, k])), (x.dtype, TensorShape(batch + [k, n]))]


def _diag_part_spec(op: Any) -> list:
    x, dims = op._inputs[0], _matrix_dims(op)
    if dims is None:
        return [(x.dtype, unknown_shape())]
    *batch, m, n = dims
    return [(x.dtype, TensorShape(batch + [None if m is None or n is None else min(m, n)]))]


register_op("Qr", _qr_spec)
register_op("MatrixDiagPart", _diag_part_spec)


def qr(input: Any, full_matrices: bool = False, name: str | None = None) -> tuple[ops.Tensor, ops.Tensor]:  # noqa: A002
    """The QR decomposition of each inner matrix: input = q @ r, q orthonormal columns, r upper triangular.

    Returns:
      (q, r): [..., M, K] and [..., K, N] with K = min(M, N) (full_matrices: [..., M, M] and [..., M, N]).
    """
    x = ops.convert_to_tensor(input)
    op = x.graph.create_op("Qr", [x], {"full_matrices": bool(full_matrices)}, name=name or "Qr")
    return op.outputs[0], op.outputs[1]


def matrix_diag_part(input: Any, name: str | None = None) -> ops.Tensor:  # noqa: A002
    """The main diagonal of each inner matrix: [..., min(M, N)]."""
    x = ops.convert_to_tensor(input)
    return x.graph.create_op("MatrixDiagPart", [x], name=name or "matrix_diag_part").outputs[0]


diag_part = matrix_diag_part
