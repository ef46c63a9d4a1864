"""graphvar: TF1's graph / Variable / Session / Saver workflow on NumPy or CuPy.

`import graphvar as tf` and TF1 code that builds variables, initializes, runs and
saves them runs unchanged. This module only re-exports the public API.
"""

from graphvar import dtypes, errors
from graphvar.config import ConfigProto, GPUOptions, GraphOptions, OptimizerOptions, RunMetadata, RunOptions
from graphvar.dtypes import (
    DType,
    as_dtype,
    bfloat16,
    bool,  # noqa: A004 - TF's public name
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
    uint16,
    uint32,
    uint64,
)
from graphvar.framework.ops import (
    Graph,
    GraphKeys,
    Operation,
    Tensor,
    add_to_collection,
    add_to_collections,
    control_dependencies,
    convert_to_tensor,
    device,
    get_collection,
    get_collection_ref,
    get_default_graph,
    name_scope,
    register_tensor_conversion_function,
    reset_default_graph,
)
from graphvar.framework.random_seed import get_seed, set_random_seed
from graphvar.framework.tensor_shape import Dimension, TensorShape
from graphvar.ops.array_ops import (
    cast,
    constant,
    fill,
    identity,
    ones,
    ones_like,
    placeholder,
    reshape,
    to_float,
    zeros,
    zeros_like,
)
from graphvar.framework.gradient_registry import NoGradient, NotDifferentiable, RegisterGradient
from graphvar.framework.indexed_slices import IndexedSlices
from graphvar.ops.gradient_ops import add_n, broadcast_to, stop_gradient, tile, unsorted_segment_sum
from graphvar.ops.gradient_ops import select_v2 as where_v2
from graphvar.ops.gradients_impl import AggregationMethod, gradients, hessians
from graphvar.ops.cond_ops import case, cond
from graphvar.ops.control_flow_ops import group, no_op, tuple  # noqa: A004
from graphvar.ops.math_ops import (
    abs,  # noqa: A004
    add,
    div,
    divide,
    equal,
    exp,
    floordiv,
    floormod,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    matmul,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,  # noqa: A004
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    sigmoid,
    sign,
    softmax,
    sqrt,
    square,
    subtract,
    tanh,
    truediv,
)
from graphvar.ops.init_ops import (
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    orthogonal_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    uniform_unit_scaling_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from graphvar.ops.linalg_ops import matrix_diag_part, qr
from graphvar.ops.sparse_ops import sparse_to_dense
from graphvar.ops.random_ops import random_normal, random_uniform, truncated_normal
from graphvar.ops.shape_ops import argmax, argmin, concat, expand_dims, rank, shape, size, squeeze, stack, transpose
from graphvar.ops.array_ops_extra import (
    cumsum,
    gather,
    gather_nd,
    lin_space,
    linspace,
    one_hot,
    pad,
    range,  # noqa: A004
    reverse,
    reverse_v2,
    split,
    unstack,
    where,
)
from graphvar.ops.clip_ops import clip_by_global_norm, clip_by_norm, clip_by_value, global_norm
from graphvar.ops.math_ops_extra import (
    arg_max,
    arg_min,
    batch_matmul,
    ceil,
    count_nonzero,
    cos,
    einsum,
    erf,
    expm1,
    floor,
    is_finite,
    log1p,
    log_sigmoid,
    matrix_transpose,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    round,  # noqa: A004
    rsqrt,
    sin,
    squared_difference,
    tensordot,
    to_double,
    to_int32,
    to_int64,
)
from graphvar.ops.sampling_ops import multinomial, random_shuffle
from graphvar.ops.debug_ops import (  # tf.Print, tf.Assert, tf.assert_*, tf.check_numerics (tf.debugging too)
    Assert,
    Print,
    add_check_numerics_ops,
    assert_equal,
    assert_greater,
    assert_greater_equal,
    assert_less,
    assert_less_equal,
    assert_negative,
    assert_non_negative,
    assert_none_equal,
    assert_positive,
    assert_rank,
    check_numerics,
    is_inf,
    is_nan,
    placeholder_with_default,
)
from graphvar.ops.nn_extra import norm
from graphvar.ops.state_ops import assign, assign_add, assign_sub, scatter_add, scatter_sub, scatter_update
from graphvar.session import InteractiveSession, Session, get_default_session
from graphvar.variable_scope import AUTO_REUSE, VariableScope, get_variable, get_variable_scope, variable_scope
from graphvar.partitioned_variables import (
    PartitionedVariable,
    fixed_size_partitioner,
    min_max_variable_partitioner,
    variable_axis_size_partitioner,
)
from graphvar.variables import (
    Variable,
    all_variables,
    assert_variables_initialized,
    global_variables,
    global_variables_initializer,
    initialize_all_variables,
    initialize_local_variables,
    initialize_variables,
    is_variable_initialized,
    local_variables,
    local_variables_initializer,
    model_variables,
    report_uninitialized_variables,
    trainable_variables,
    variables_initializer,
)

from graphvar import compat  # noqa: E402  (tf.compat.v1 is this module)
from graphvar import app, flags, gfile  # noqa: E402  (tf.app.run, tf.app.flags / tf.flags, tf.gfile)
from graphvar import tf_logging as logging  # noqa: E402
from graphvar import initializers  # noqa: E402  (tf.initializers)
from graphvar.initializers import tables_initializer  # noqa: E402
from graphvar import nn  # noqa: E402  (after the ops it re-exports)
from graphvar import layers  # noqa: E402  (tf.layers)
from graphvar import losses  # noqa: E402  (tf.losses)
from graphvar import metrics  # noqa: E402  (tf.metrics)
from graphvar import train  # noqa: E402
from graphvar import summary  # noqa: E402  (tf.summary; tf.Summary etc. below, as TF1)
from graphvar import debugging, io, python_io  # noqa: E402  (tf.debugging, tf.io / tf.io.gfile, tf.python_io)
from graphvar.summary import Event, HistogramProto, SessionLog, Summary, SummaryMetadata  # noqa: E402

__version__ = "0.1.0"
sub = subtract
mul = multiply
neg = negative
newaxis = None
VERSION = __version__


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None):  # fmt: skip
    from graphvar.framework.graph_import import import_graph_def as _import

    return _import(graph_def, input_map, return_elements, name, op_dict, producer_op_list)


import_graph_def.__doc__ = "TF's tf.import_graph_def: see graphvar.framework.graph_import.import_graph_def."


def disable_v2_behavior() -> None:
    """No-op: graphvar always has TF1 graph semantics."""


def disable_eager_execution() -> None:
    """No-op: graphvar always builds graphs."""


def executing_eagerly() -> bool:
    return False


def __getattr__(name: str):
    if name == "GradientTape":
        raise NotImplementedError("tf.GradientTape is TF2 eager API; graphvar builds TF1 graphs (use tf.gradients)")
    raise AttributeError(f"module 'graphvar' has no attribute {name!r}")
