"""``tf.nn``: the activations graphvar provides."""

from graphvar.ops import extra_grad, nn_grad  # noqa: F401,E402  (register the gradients of the ops below)
from graphvar.ops.clip_ops import clip_by_norm  # noqa: E402,F401
from graphvar.ops.math_ops import relu, sigmoid, softmax, tanh
from graphvar.ops.math_ops_extra import log_sigmoid  # noqa: E402,F401
from graphvar.ops.nn_impl import (  # noqa: E402,F401
    batch_normalization,
    dropout,
    embedding_lookup,
    l2_normalize,
    moments,
    sigmoid_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits,
)
from graphvar.ops.nn_ops import (  # noqa: E402,F401
    bias_add,
    elu,
    in_top_k,
    l2_loss,
    leaky_relu,
    log_softmax,
    relu6,
    selu,
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2,
    softplus,
    softsign,
    sparse_softmax_cross_entropy_with_logits,
    top_k,
)
from graphvar.ops.nn_sampled import nce_loss, sampled_softmax_loss  # noqa: E402,F401
from graphvar.ops.sampling_ops import (  # noqa: E402,F401
    compute_accidental_hits,
    log_uniform_candidate_sampler,
    uniform_candidate_sampler,
)

_NN_EXPORTS = [
    "batch_normalization", "bias_add", "clip_by_norm", "dropout", "elu", "embedding_lookup", "in_top_k", "l2_loss",
    "l2_normalize", "leaky_relu", "log_sigmoid", "log_softmax", "log_uniform_candidate_sampler", "moments", "relu6",
    "selu", "sigmoid_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2", "softplus", "softsign", "sparse_softmax_cross_entropy_with_logits",
    "top_k", "weighted_cross_entropy_with_logits",
    "compute_accidental_hits", "nce_loss", "sampled_softmax_loss", "uniform_candidate_sampler",
]  # fmt: skip

__all__ = ["relu", "sigmoid", "softmax", "tanh"]
__all__ += _NN_EXPORTS

# convolution and pooling (graphvar/ops/nn_conv.py)
from graphvar.ops import nn_conv_grad  # noqa: E402,F401  (registers their gradients)
from graphvar.ops.nn_conv import (  # noqa: E402,F401
    avg_pool,
    avg_pool2d,
    conv2d,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    conv2d_transpose,
    depthwise_conv2d,
    depthwise_conv2d_native,
    max_pool,
    max_pool2d,
)

__all__ += [
    "avg_pool", "avg_pool2d", "conv2d", "conv2d_backprop_filter", "conv2d_backprop_input", "conv2d_transpose",
    "depthwise_conv2d", "depthwise_conv2d_native", "max_pool", "max_pool2d",
]  # fmt: skip

# more of tf.nn (graphvar/ops/nn_extra.py)
from graphvar.ops.nn_extra import (  # noqa: E402,F401
    conv1d,
    local_response_normalization,
    lrn,
    separable_conv2d,
    xw_plus_b,
    zero_fraction,
)

__all__ += ["conv1d", "local_response_normalization", "lrn", "separable_conv2d", "xw_plus_b", "zero_fraction"]
