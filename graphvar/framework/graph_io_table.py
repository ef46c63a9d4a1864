"""graphvar op type <-> TensorFlow NodeDef: one entry per op type, read in both directions.

An entry says how a graphvar op becomes TF's node and back:

- ``tf``: TF's op type (usually the same name);
- ``inputs``: TF's inputs in order: ``IN`` the next graphvar input, ``ALL`` the remaining graphvar
  inputs, or ``C(attr, ...)`` a graphvar attribute that TF takes as an input, exported as a Const
  node ``<op>/<arg>`` and read back from that Const on import (graphvar keeps axes, shapes and
  perms as attributes);
- ``rename``: (TF attr, graphvar attr) pairs; other attrs of the same name pass through, and TF's
  type attrs (``T``, ``Tidx``, ``N``) are derived from the inputs through TF's OpDef
  (graphvar/proto/tf_op_list.pbtxt), except those named in ``keep``;
- ``drop``: graphvar attrs TF has no place for (checked to hold ``defaults`` on export);
- ``defaults``: graphvar attrs a TF node lacks, set on import;
- ``export`` / ``import_``: the few ops that are not one node with renamed attrs (StridedSlice's
  key, the random generators' mean/stddev, Const's tensor, initialized_value's cond), in
  graph_io_rules.py.

An op type with no entry (and a TF type with no entry) raises an error naming it and the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IN = "IN"
ALL = "ALL"


@dataclass(frozen=True)
class C:
    """A graphvar attr that is a TF input, exported as a Const named ``<op>/<arg>``.

    ``to_tf(value, op) -> ndarray`` and ``from_tf(ndarray) -> value``; ``tensor_ok``: graphvar's op
    also takes it as a tensor input (attr None) when TF's input is not a constant.
    """

    attr: str
    arg: str
    to_tf: Callable[[Any, Any], np.ndarray]
    from_tf: Callable[[np.ndarray], Any]
    tensor_ok: bool = False


@dataclass(frozen=True)
class Rule:
    tf: str
    inputs: tuple = (ALL,)
    rename: tuple = ()
    keep: tuple = ()
    drop: tuple = ()
    defaults: tuple = ()
    require: tuple = ()  # TF attrs graphvar lacks, imported only when they hold this value
    export: Callable | None = None
    import_: Callable | None = None
    extra_tf_types: tuple = field(default=())  # further TF types the export emits (for the OpDef list)


# ---- converters: graphvar attr value <-> the Const TF takes ----
def _i32(v: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.int32)


def _axes_to_tf(axis: Any, op: Any) -> np.ndarray:
    if axis is None:  # graphvar: every axis
        ndims = op.inputs[0].shape.ndims
        if ndims is None:
            raise ValueError(f"cannot export {op.type} {op.name!r}: reducing all axes of a tensor of unknown rank")
        return np.arange(ndims, dtype=np.int32)
    return np.asarray(axis if isinstance(axis, (list, tuple)) else [axis], dtype=np.int32).reshape(-1)


def _perm_to_tf(perm: Any, op: Any) -> np.ndarray:
    if perm is None:
        ndims = op.inputs[0].shape.ndims
        if ndims is None:
            raise ValueError(f"cannot export Transpose {op.name!r}: default perm of a tensor of unknown rank")
        return np.arange(ndims - 1, -1, -1, dtype=np.int32)
    return _i32(list(perm))


def _ints(a: np.ndarray) -> tuple:
    return tuple(int(x) for x in np.asarray(a).reshape(-1))


def _int(a: np.ndarray) -> int:
    return int(np.asarray(a).reshape(-1)[0])


def _pairs(a: np.ndarray) -> tuple:
    return tuple((int(p[0]), int(p[1])) for p in np.asarray(a).reshape(-1, 2))


AXES = C("axis", "reduction_indices", _axes_to_tf, _ints, tensor_ok=True)
SHAPE = C("shape", "shape", lambda v, op: _i32(list(v)), _ints, tensor_ok=True)
PERM = C("perm", "perm", _perm_to_tf, _ints)
PADDINGS = C("paddings", "paddings", lambda v, op: _i32([list(p) for p in v]).reshape(-1, 2), _pairs)


def scalar(attr: str, arg: str) -> C:
    return C(attr, arg, lambda v, op: _i32(v), _int)


def vector(attr: str, arg: str) -> C:
    return C(attr, arg, lambda v, op: _i32(list(v)), _ints)


def like_output(attr: str, arg: str) -> C:
    """A scalar of the op's output dtype (PadV2's constant_values, OneHot's on/off values)."""
    return C(attr, arg, lambda v, op: np.asarray(v, dtype=op.outputs[0].dtype.np), lambda a: np.asarray(a).item())


UNARY = (
    "Abs Ceil Cos Elu Erf Exp Expm1 Floor Identity IsFinite L2Loss Log Log1p LogicalNot MatrixDiagPart Neg OnesLike "
    "Reciprocal Relu Relu6 Round Rsqrt Selu Sigmoid Sign Sin Softplus Softsign Sqrt Square StopGradient Tanh ZerosLike "
    "LeakyRelu Where Rank Shape Size Cast Qr"
).split()
BINARY = (
    "Sub Mul RealDiv Maximum Minimum Pow FloorDiv FloorMod Less LessEqual Greater GreaterEqual Equal NotEqual "
    "LogicalAnd LogicalOr MatMul BiasAdd ReluGrad SigmoidGrad TanhGrad BroadcastGradientArgs BroadcastTo Tile "
    "GatherNd SoftmaxCrossEntropyWithLogits SparseSoftmaxCrossEntropyWithLogits TopKV2 ScalarSummary HistogramSummary "
    "ComputeAccidentalHits"
).split()
PASS_THROUGH = (
    "AddN Select SelectV2 UnsortedSegmentSum InTopKV2 SparseToDense Einsum Pack Unpack MergeSummary NoOp "
    "Assign AssignAdd AssignSub ScatterAdd ScatterSub ScatterUpdate IsVariableInitialized VariableV2 Placeholder "
    "ApplyGradientDescent ApplyMomentum ApplyAdam ApplyRMSProp ApplyCenteredRMSProp ApplyAdagrad "
    "Conv2D Conv2DBackpropInput Conv2DBackpropFilter DepthwiseConv2dNative DepthwiseConv2dNativeBackpropInput "
    "DepthwiseConv2dNativeBackpropFilter MaxPool MaxPoolGrad Multinomial RandomShuffle "
    "UniformCandidateSampler LogUniformCandidateSampler SparseApplyMomentum SparseApplyAdagrad SparseApplyRMSProp "
    "SparseApplyCenteredRMSProp"
).split()

RULES: dict[str, Rule] = {t: Rule(t) for t in UNARY + BINARY + PASS_THROUGH}
RULES.update(
    {
        "Add": Rule("AddV2"),
        "Cast": Rule("Cast", keep=("DstT",)),
        "Unique": Rule("Unique", keep=("out_idx",)),
        "Shape": Rule("Shape", keep=("out_type",)),
        "Size": Rule("Size", keep=("out_type",)),
        "VariableV2": Rule("VariableV2", keep=("dtype",)),
        "Placeholder": Rule("Placeholder", keep=("dtype",)),
        "MergeSummary": Rule("MergeSummary", keep=("N",)),
        "Multinomial": Rule("Multinomial", inputs=(IN, scalar("num_samples", "num_samples")), keep=("output_dtype",)),
        "AvgPool": Rule("AvgPool", drop=("explicit_paddings",), defaults=(("explicit_paddings", ()),)),
        "AvgPoolGrad": Rule("AvgPoolGrad", drop=("explicit_paddings",), defaults=(("explicit_paddings", ()),)),
        "Softmax": Rule("Softmax", drop=("axis",), defaults=(("axis", -1),)),
        "LogSoftmax": Rule("LogSoftmax", drop=("axis",), defaults=(("axis", -1),)),
        "Sum": Rule("Sum", inputs=(IN, AXES)),
        "Mean": Rule("Mean", inputs=(IN, AXES)),
        "Max": Rule("Max", inputs=(IN, AXES)),
        "Min": Rule("Min", inputs=(IN, AXES)),
        "Prod": Rule("Prod", inputs=(IN, AXES)),
        "All": Rule("All", inputs=(IN, AXES)),
        "Any": Rule("Any", inputs=(IN, AXES)),
        "Reshape": Rule("Reshape", inputs=(IN, SHAPE)),
        "Transpose": Rule("Transpose", inputs=(IN, PERM)),
        "ConcatV2": Rule("ConcatV2", inputs=(ALL, scalar("axis", "axis"))),
        "ExpandDims": Rule("ExpandDims", inputs=(IN, scalar("axis", "dim"))),
        "GatherV2": Rule("GatherV2", inputs=(IN, IN, scalar("axis", "axis")), require=(("batch_dims", 0),)),
        "ArgMax": Rule("ArgMax", inputs=(IN, scalar("axis", "dimension")), keep=("output_type",)),
        "ArgMin": Rule("ArgMin", inputs=(IN, scalar("axis", "dimension")), keep=("output_type",)),
        "Cumsum": Rule("Cumsum", inputs=(IN, scalar("axis", "axis"))),
        "ReverseV2": Rule("ReverseV2", inputs=(IN, vector("axis", "axis"))),
        "Pad": Rule("Pad", inputs=(IN, PADDINGS), drop=("constant_values",), defaults=(("constant_values", 0),)),
        "PadV2": Rule("PadV2", inputs=(IN, PADDINGS, like_output("constant_values", "constant_values"))),
        "MirrorPad": Rule("MirrorPad", inputs=(IN, PADDINGS)),
        "Split": Rule("Split", inputs=(scalar("axis", "split_dim"), IN), keep=("num_split",)),
        "Unpack": Rule("Unpack", keep=("num",)),
        "SplitV": Rule(
            "SplitV",
            inputs=(IN, vector("size_splits", "size_splits"), scalar("axis", "split_dim")),
            drop=("num_split",),
        ),  # fmt: skip
        "OneHot": Rule(
            "OneHot",
            inputs=(
                IN,
                scalar("depth", "depth"),
                like_output("on_value", "on_value"),
                like_output("off_value", "off_value"),
            ),
            rename=(("T", "dtype"),),
            keep=("T",),
        ),  # fmt: skip
    }
)
# debugging, LRN, media summaries and the Adadelta / FTRL / proximal updates (ops/debug_ops.py, nn_extra.py,
# summary_ops.py, training_ops.py)
RULES.update({t: Rule(t) for t in (
    "ApplyAdadelta ApplyFtrl ApplyFtrlV2 ApplyProximalGradientDescent LRN LRNGrad IsNan IsInf CheckNumerics "
    "AudioSummaryV2 TensorSummaryV2 Print Assert"
).split()})  # fmt: skip
RULES["PlaceholderWithDefault"] = Rule("PlaceholderWithDefault", keep=("dtype",))
RULES["ImageSummary"] = Rule("ImageSummary", drop=("bad_color",), defaults=(("bad_color", (255, 0, 0, 255)),))
# graphvar ops TensorFlow has not: exported under graphvar's type (graphvar reads them back; TF refuses them)
for _t in ("ReportUninitializedVariables", "AssertVariablesInitialized"):
    RULES[_t] = Rule(_t)

# graphvar ops with no TensorFlow form yet: export raises naming them
NOT_YET_EXPORTED = ()
# TF types that import as another graphvar type (same values): TF1's Add, PreventGradient (an Identity
# that refuses second derivatives in TF)
IMPORT_ALIASES = {"Add": "Add", "PreventGradient": "Identity"}
# TF attrs graphvar keeps as written (the rest of the "_" attrs: _class, _output_shapes, are TF's placement
# and shape annotations)
KEPT_PRIVATE_ATTRS = ("_gradient_op_type",)
# control flow: TF1's cond (Switch / Merge) imports as Cond ops (graph_import_cond.py); while loops and
# control flow v2 (If / While) do not
CONTROL_FLOW = ("Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "RefEnter", "Exit", "RefExit", "NextIteration",
                "RefNextIteration", "LoopCond", "If", "StatelessIf", "While", "StatelessWhile")  # fmt: skip
SAVE_TYPES = ("SaveV2", "RestoreV2", "PlaceholderWithDefault", "ShardedFilename", "StringJoin", "MergeV2Checkpoints")


def _register_special() -> None:
    from graphvar.framework import graph_io_cond
    from graphvar.framework import graph_io_rules as r

    RULES.update({
        "Const": Rule("Const", export=r.export_const, import_=r.import_const),
        "Squeeze": Rule("Squeeze", export=r.export_squeeze, import_=r.import_squeeze),
        "Fill": Rule("Fill", export=r.export_fill, import_=r.import_fill),
        "Range": Rule("Range", export=r.export_range, import_=r.import_range),
        "LinSpace": Rule("LinSpace", export=r.export_linspace, import_=r.import_linspace),
        "StridedSlice": Rule("StridedSlice", export=r.export_strided_slice, import_=r.import_strided_slice),
        "StridedSliceGrad": Rule("StridedSliceGrad", export=r.export_strided_slice_grad,
                                 import_=r.import_strided_slice_grad),
        "RandomStandardNormal": Rule("RandomStandardNormal", export=r.export_normal, import_=r.import_random,
                                     extra_tf_types=("Mul", "AddV2")),
        "TruncatedNormal": Rule("TruncatedNormal", export=r.export_normal, import_=r.import_random,
                                extra_tf_types=("Mul", "AddV2")),
        "RandomUniform": Rule("RandomUniform", export=r.export_uniform, import_=r.import_random,
                              extra_tf_types=("Sub", "Mul", "AddV2")),
        "RandomUniformInt": Rule("RandomUniformInt", export=r.export_uniform_int, import_=r.import_uniform_int),
        "InitializedValue": Rule("Merge", export=r.export_initialized_value,
                                 extra_tf_types=("IsVariableInitialized", "Switch", "RefSwitch", "Identity")),
        "DenseFromSlices": Rule("UnsortedSegmentSum", export=r.export_dense_from_slices),
        "Cond": Rule("Merge", export=graph_io_cond.export_cond, extra_tf_types=("Switch", "RefSwitch", "Identity")),
    })  # fmt: skip


_register_special()

# TF type -> graphvar type, for import: the inverse of the table (InitializedValue and DenseFromSlices
# export to TF types whose own entries import them; Cond's Merges import through graph_import_cond.py)
FROM_TF: dict[str, str] = {
    rule.tf: gv for gv, rule in RULES.items() if gv not in ("InitializedValue", "DenseFromSlices", "Cond")
}
FROM_TF.update(IMPORT_ALIASES)

# every TF op type export or import uses: the OpDefs kept in tf_op_list.pbtxt
TF_TYPES = sorted(
    {rule.tf for rule in RULES.values()}
    | {t for rule in RULES.values() for t in rule.extra_tf_types}
    | set(IMPORT_ALIASES) | set(CONTROL_FLOW) | set(SAVE_TYPES) | {"BiasAddGrad"}
)  # fmt: skip
