"""TensorFlow's value protos <-> graphvar values: TensorProto <-> ndarray, TensorShapeProto <-> TensorShape,
AttrValue <-> Python attrs, and TF's OpDefs (graphvar/proto/tf_op_list.pbtxt)."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from graphvar import dtypes
from graphvar.framework.tensor_shape import TensorShape, unknown_shape
from graphvar.proto import graph_pb2, tensor_pb2

_TYPED_FIELD = {
    "float32": "float_val", "float64": "double_val", "int32": "int_val", "int16": "int_val", "int8": "int_val",
    "uint8": "int_val", "uint16": "int_val", "int64": "int64_val", "bool": "bool_val", "uint32": "uint32_val",
    "uint64": "uint64_val", "complex64": "scomplex_val", "complex128": "dcomplex_val",
}  # fmt: skip


def as_dtype(code: int) -> dtypes.DType:
    return dtypes.as_dtype(code - 100 if code > 100 else code)


# ---- shapes ----
def shape_to_proto(shape: TensorShape, proto: Any = None) -> Any:
    proto = proto if proto is not None else tensor_pb2.TensorShapeProto()
    if shape.ndims is None:
        proto.unknown_rank = True
    else:
        for d in shape.as_list():
            proto.dim.add(size=-1 if d is None else d)
    return proto


def shape_from_proto(proto: Any) -> TensorShape:
    if proto.unknown_rank:
        return unknown_shape()
    return TensorShape([None if d.size < 0 else d.size for d in proto.dim])


# ---- tensors ----
def tensor_to_proto(value: np.ndarray, dtype: dtypes.DType, proto: Any = None) -> Any:
    """TF's encoding: strings in string_val, a scalar in its typed field, other arrays as raw bytes."""
    proto = proto if proto is not None else tensor_pb2.TensorProto()
    proto.dtype = dtype.as_datatype_enum
    arr = np.asarray(value)
    for d in arr.shape:
        proto.tensor_shape.dim.add(size=d)
    if dtype == dtypes.string:
        proto.string_val.extend(s if isinstance(s, bytes) else str(s).encode() for s in arr.reshape(-1))
    elif arr.ndim == 0 and dtype.name in _TYPED_FIELD:
        getattr(proto, _TYPED_FIELD[dtype.name]).extend(_typed_values(arr, dtype))
    elif dtype.name == "float16" and arr.ndim == 0:
        proto.half_val.append(int(arr.astype(np.float16).view(np.uint16)))
    else:
        proto.tensor_content = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    return proto


def _typed_values(arr: np.ndarray, dtype: dtypes.DType) -> list:
    if dtype.is_complex:
        return [float(x) for c in arr.reshape(-1) for x in (c.real, c.imag)]
    return arr.reshape(-1).tolist()


def tensor_from_proto(proto: Any, where: str = "") -> np.ndarray:
    """The ndarray of a TensorProto; a short typed list is padded with its last value, as TF reads it."""
    dtype = as_dtype(proto.dtype)
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == dtypes.string:
        vals = np.empty(len(proto.string_val), dtype=object)
        vals[:] = list(proto.string_val)
        return _fill_to(vals, n, shape, where)
    if dtype.np is None:
        raise TypeError(f"{where}: graphvar cannot hold a {dtype.name} constant")
    if proto.tensor_content:
        arr = np.frombuffer(proto.tensor_content, dtype=dtype.np.newbyteorder("<")).astype(dtype.np)
        if arr.size != n:
            raise ValueError(f"{where}: tensor_content has {arr.size} values for shape {list(shape)}")
        return arr.reshape(shape)
    if dtype.name == "float16":
        vals = np.asarray(list(proto.half_val), dtype=np.uint16).view(np.float16)
    elif dtype.name in _TYPED_FIELD:
        vals = np.asarray(list(getattr(proto, _TYPED_FIELD[dtype.name])))
        if dtype.is_complex:
            vals = vals.reshape(-1, 2) @ np.array([1, 1j]) if vals.size else vals
        vals = vals.astype(dtype.np)
    else:
        raise TypeError(f"{where}: graphvar cannot read a {dtype.name} constant")
    return _fill_to(vals, n, shape, where)


def _fill_to(vals: np.ndarray, n: int, shape: tuple, where: str) -> np.ndarray:
    if vals.size == n:
        return vals.reshape(shape)
    if vals.size > n:
        raise ValueError(f"{where}: {vals.size} values for a tensor of shape {list(shape)}")
    out = np.empty(n, dtype=vals.dtype)
    out[: vals.size] = vals
    out[vals.size :] = vals[-1] if vals.size else (b"" if vals.dtype == object else 0)
    return out.reshape(shape)


# ---- attrs ----
def encode_attr(value: Any, kind: str | None, proto: Any) -> None:
    """Writes `value` into AttrValue `proto` as TF's attr type `kind` ("int", "list(int)", ...; None: by value)."""
    if kind is None:
        kind = _kind_of(value)
    if kind.startswith("list("):
        elem = kind[5:-1]
        lst = proto.list
        proto.list.SetInParent()
        for v in value or ():
            _encode_list_item(v, elem, lst)
        return
    if kind == "int":
        proto.i = int(value)
    elif kind == "float":
        proto.f = float(value)
    elif kind == "bool":
        proto.b = bool(value)
    elif kind == "string":
        proto.s = value if isinstance(value, bytes) else str(value).encode()
    elif kind == "type":
        proto.type = dtypes.as_dtype(value).as_datatype_enum
    elif kind == "shape":
        proto.shape.SetInParent()
        shape_to_proto(value if isinstance(value, TensorShape) else TensorShape(value), proto.shape)
    elif kind == "tensor":
        arr = np.asarray(value)
        proto.tensor.SetInParent()
        tensor_to_proto(arr, dtypes.as_dtype(arr.dtype), proto.tensor)
    else:
        raise TypeError(f"graphvar cannot write an attr of type {kind}")


def _encode_list_item(v: Any, elem: str, lst: Any) -> None:
    if elem == "int":
        lst.i.append(int(v))
    elif elem == "float":
        lst.f.append(float(v))
    elif elem == "bool":
        lst.b.append(bool(v))
    elif elem == "string":
        lst.s.append(v if isinstance(v, bytes) else str(v).encode())
    elif elem == "type":
        lst.type.append(dtypes.as_dtype(v).as_datatype_enum)
    elif elem == "shape":
        shape_to_proto(v if isinstance(v, TensorShape) else TensorShape(v), lst.shape.add())
    else:
        raise TypeError(f"graphvar cannot write an attr of type list({elem})")


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (str, bytes)):
        return "string"
    if isinstance(value, dtypes.DType):
        return "type"
    if isinstance(value, TensorShape):
        return "shape"
    if isinstance(value, (list, tuple)):
        return f"list({_kind_of(value[0])})" if value else "list(int)"
    raise TypeError(f"graphvar cannot write an attr holding {type(value).__name__}")


def decode_attr(proto: Any) -> Any:
    """An AttrValue as graphvar holds attrs: str, int, float, bool, DType, TensorShape, ndarray, tuples."""
    which = proto.WhichOneof("value")
    if which == "list":
        lst = proto.list
        for name in ("s", "i", "f", "b", "type", "shape"):
            items = getattr(lst, name)
            if len(items):
                return tuple(_decode_scalar(name, v) for v in items)
        return ()
    if which is None:
        return None
    return _decode_scalar(which, getattr(proto, which))


def _decode_scalar(which: str, v: Any) -> Any:
    if which == "s":
        try:
            return v.decode()
        except UnicodeDecodeError:
            return v
    if which == "type":
        return as_dtype(v)
    if which == "shape":
        return shape_from_proto(v)
    if which == "tensor":
        return tensor_from_proto(v)
    if which in ("i", "f", "b"):
        return {"i": int, "f": float, "b": bool}[which](v)
    raise TypeError(f"graphvar cannot read an attr of kind {which!r}")


# ---- TF's OpDefs ----
@functools.lru_cache(maxsize=1)
def tf_op_defs() -> dict[str, Any]:
    """TF op type -> OpDef (from graphvar/proto/tf_op_list.pbtxt, made by tests/fixtures/make_tf_op_list.py)."""
    from google.protobuf import text_format

    path = os.path.join(os.path.dirname(graph_pb2.__file__), "tf_op_list.pbtxt")
    with open(path, encoding="utf-8") as f:
        op_list = text_format.Parse(f.read(), graph_pb2.OpList())
    return {op.name: op for op in op_list.op}


@functools.cache
def attr_kinds(tf_type: str) -> dict[str, str]:
    op_def = tf_op_defs().get(tf_type)
    return {} if op_def is None else {a.name: a.type for a in op_def.attr}


@functools.cache
def type_attr_names(tf_type: str) -> frozenset:
    """The attrs TF derives from the inputs and outputs (T, Tidx, N, dtypes...)."""
    op_def = tf_op_defs().get(tf_type)
    if op_def is None:
        return frozenset()
    names = set()
    for arg in (*op_def.input_arg, *op_def.output_arg):
        names.update(n for n in (arg.type_attr, arg.number_attr, arg.type_list_attr) if n)
    return frozenset(names)
