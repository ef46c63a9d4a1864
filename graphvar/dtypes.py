"""The dtype table: TF's DType objects, their NumPy types and TF DataType codes.

The codes are TensorFlow's ``DataType`` enum (``types.proto``); checkpoints store them.
"""

from __future__ import annotations

import builtins
from typing import Any

import ml_dtypes
import numpy as np


class DType:
    """A TensorFlow data type (``tf.float32`` ...), backed by a NumPy dtype.

    Example:
      >>> tf.float32.as_numpy_dtype
      <class 'numpy.float32'>
    """

    __slots__ = ("_name", "_np", "_enum")

    def __init__(self, name: str, np_type: Any, enum: int) -> None:
        self._name = name
        self._np = np.dtype(np_type) if np_type is not None else None
        self._enum = enum

    @property
    def name(self) -> str:
        return self._name

    @property
    def as_numpy_dtype(self) -> type:
        return self._np.type

    @property
    def np(self) -> np.dtype:
        """The NumPy dtype object (graphvar's own shorthand)."""
        return self._np

    @property
    def as_datatype_enum(self) -> int:
        return self._enum

    @property
    def base_dtype(self) -> DType:
        return self

    @property
    def real_dtype(self) -> DType:
        return {complex64: float32, complex128: float64}.get(self, self)

    @property
    def is_floating(self) -> bool:
        return self._np is not None and kind(self._np) == "f"

    @property
    def is_integer(self) -> bool:
        return self._np is not None and self._np.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._np is not None and self._np.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self._np is not None and self._np.kind == "b"

    @property
    def is_complex(self) -> bool:
        return self._np is not None and self._np.kind == "c"

    @property
    def is_numpy_compatible(self) -> bool:
        return self._np is not None

    @property
    def size(self) -> int:
        return self._np.itemsize

    @property
    def min(self) -> Any:
        return ml_dtypes.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self) -> Any:
        return ml_dtypes.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    def is_compatible_with(self, other: Any) -> bool:
        return self == as_dtype(other)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, DType):
            return self._enum == other._enum
        try:
            return self._enum == as_dtype(other)._enum
        except TypeError:
            return False

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return self._enum

    def __repr__(self) -> str:
        return f"tf.{self._name}"

    def __reduce__(self):
        return (as_dtype, (self._name,))


float16 = half = DType("float16", np.float16, 19)
float32 = DType("float32", np.float32, 1)
float64 = double = DType("float64", np.float64, 2)
int8 = DType("int8", np.int8, 6)
int16 = DType("int16", np.int16, 5)
int32 = DType("int32", np.int32, 3)
int64 = DType("int64", np.int64, 9)
uint8 = DType("uint8", np.uint8, 4)
uint16 = DType("uint16", np.uint16, 17)
uint32 = DType("uint32", np.uint32, 22)
uint64 = DType("uint64", np.uint64, 23)
bool = DType("bool", np.bool_, 10)  # noqa: A001 - TF's public name
complex64 = DType("complex64", np.complex64, 8)
complex128 = DType("complex128", np.complex128, 18)
string = DType("string", None, 7)
bfloat16 = DType("bfloat16", ml_dtypes.bfloat16, 14)  # ml_dtypes' type, as JAX and TF use

_ALL = (
    float16, float32, float64, int8, int16, int32, int64,
    uint8, uint16, uint32, uint64, bool, complex64, complex128, string, bfloat16,
)  # fmt: skip
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"half": float16, "double": float64, "float": float32})
_BY_ENUM = {d.as_datatype_enum: d for d in _ALL}
_BY_NP = {d.np: d for d in _ALL if d.np is not None}


_ML_FLOATS = frozenset({np.dtype(ml_dtypes.bfloat16)})


def kind(np_dtype: np.dtype) -> str:
    """``np_dtype.kind``, except "f" for ml_dtypes' bfloat16 (whose NumPy kind is "V")."""
    return "f" if np_dtype in _ML_FLOATS else np_dtype.kind


def as_dtype(type_value: Any) -> DType:
    """Converts a DType, NumPy dtype or type, name string or DataType code to a DType.

    Raises:
      TypeError: the value names no supported dtype.
    """
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, str):
        d = _BY_NAME.get(type_value.removesuffix("_ref"))
        if d is not None:
            return d
    elif isinstance(type_value, int) and not isinstance(type_value, builtins.bool):
        d = _BY_ENUM.get(type_value if type_value < 100 else type_value - 100)
        if d is not None:
            return d
    else:
        try:
            d = _BY_NP.get(np.dtype(type_value))
        except TypeError:
            d = None
        if d is not None:
            return d
    raise TypeError(f"Cannot convert value {type_value!r} to a TensorFlow DType.")
