"""Kernels of tf.nn's ops and the extra array and math ops, written once against ``xp`` (NumPy or CuPy).

``nn_kernels(xp)`` is merged into each backend's table (``array_kernels.make_kernels``). A kernel is
``kernel(step, args, ctx) -> value``; an op with several outputs returns a tuple, one value per output.
Run-time checks (label and index ranges) raise InvalidArgumentError naming the op, as TF's kernels do.
"""

from __future__ import annotations

import math
from typing import Any

from graphvar import errors
from graphvar.backends.linalg_kernels import linalg_kernels
from graphvar.backends.sampling_kernels import host_sampling_kernels, sparse_kernels

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _bad_arg(step: Any, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, step.op, f"{step.op.name} ({step.op.type}): {message}")


def _c(x: Any, value: float) -> Any:
    """`value` as a scalar of x's dtype (keeps float32 math in float32)."""
    return x.dtype.type(value)


def check_range(step: Any, xp: Any, indices: Any, limit: int, what: str = "indices") -> None:
    """InvalidArgumentError naming the op and the first index outside [0, limit)."""
    bad = (indices < 0) | (indices >= limit)
    if bool(bad.any()):
        flat = xp.flatnonzero(bad.reshape(-1))
        pos = int(flat[0])
        value = int(indices.reshape(-1)[pos])
        where = list(int(i) for i in _unravel(pos, indices.shape))
        raise _bad_arg(step, f"{what}{where} = {value} is not in [0, {limit})")


def _unravel(pos: int, shape: tuple) -> list[int]:
    out = []
    for d in reversed(shape):
        out.append(pos % d)
        pos //= d
    return out[::-1]


def _argsort_desc(xp: Any, x: Any) -> Any:
    """Indices sorting the last axis largest first; ties keep the lower index first."""
    key = ~x if x.dtype.kind in "iu" else -x  # ~x reverses signed/unsigned ints without overflow
    return xp.argsort(key, axis=-1, kind="stable") if _is_numpy(xp) else xp.argsort(key, axis=-1)


def _is_numpy(xp: Any) -> bool:
    return xp.__name__ == "numpy"


def _log_softmax(xp: Any, x: Any, axis: int = -1) -> Any:
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _as_2d(x: Any) -> Any:
    return x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x


def nn_kernels(xp: Any) -> dict[str, Any]:
    """The table op type -> kernel of tf.nn's primitive ops."""

    def unary(fn: Any) -> Any:
        return lambda step, args, ctx: fn(args[0])

    def elu(x: Any) -> Any:
        return xp.where(x > 0, x, xp.expm1(xp.minimum(x, _c(x, 0))))

    def selu(x: Any) -> Any:
        neg = _c(x, SELU_ALPHA) * xp.expm1(xp.minimum(x, _c(x, 0)))
        return _c(x, SELU_SCALE) * xp.where(x > 0, x, neg)

    def leaky_relu(step: Any, args: list, ctx: Any) -> Any:
        x = args[0]
        return xp.where(x > 0, x, _c(x, step.attrs["alpha"]) * x)

    def bias_add(step: Any, args: list, ctx: Any) -> Any:
        value, bias = args
        if step.attrs["data_format"] == "NCHW":
            bias = bias.reshape((-1,) + (1,) * (value.ndim - 2))
        return value + bias

    def l2_loss(step: Any, args: list, ctx: Any) -> Any:
        x = args[0]
        return xp.asarray(xp.sum(x * x) / _c(x, 2)).astype(x.dtype)

    def xent(step: Any, args: list, ctx: Any) -> tuple:
        logits, labels = xp.broadcast_arrays(*args)
        logp = _log_softmax(xp, logits)
        return -xp.sum(labels * logp, axis=-1), xp.exp(logp) - labels

    def sparse_xent(step: Any, args: list, ctx: Any) -> tuple:
        logits, labels = args
        classes = logits.shape[-1]
        bad = (labels < 0) | (labels >= classes)
        if bool(bad.any()):
            first = int(labels[bad].reshape(-1)[0])
            shown = " ".join(str(int(v)) for v in labels.reshape(-1)[:10])
            raise _bad_arg(step, f"Received a label value of {first} which is outside the valid range of "
                           f"[0, {classes}).  Label values: {shown}")  # fmt: skip
        flat, idx = _as_2d(logits), labels.reshape(-1).astype(xp.int64)
        logp = _log_softmax(xp, flat)
        rows = xp.arange(flat.shape[0])
        loss = -logp[rows, idx]
        backprop = xp.exp(logp)
        backprop[rows, idx] -= _c(backprop, 1)
        return loss.reshape(labels.shape), backprop.reshape(logits.shape)

    def top_k(step: Any, args: list, ctx: Any) -> tuple:
        x, k = args[0], int(args[1])
        if k < 0 or k > x.shape[-1]:
            raise _bad_arg(step, f"input must have at least k={k} columns, had {x.shape[-1]} (and k >= 0)")
        idx = _argsort_desc(xp, x)[..., :k]
        return xp.take_along_axis(x, idx, axis=-1), idx.astype(xp.int32)

    def in_top_k(step: Any, args: list, ctx: Any) -> Any:
        predictions, targets, k = args[0], args[1], int(args[2])
        classes = predictions.shape[1]
        valid = (targets >= 0) & (targets < classes)
        safe = xp.where(valid, targets, 0).astype(xp.int64)
        target_value = predictions[xp.arange(predictions.shape[0]), safe]
        more = xp.sum(predictions > target_value[:, None], axis=1)
        return valid & xp.isfinite(target_value) & (more < k)

    return {
        "Relu6": unary(lambda x: xp.minimum(xp.maximum(x, _c(x, 0)), _c(x, 6))),
        "Elu": unary(elu),
        "Selu": unary(selu),
        "Softplus": unary(lambda x: xp.logaddexp(x, _c(x, 0))),
        "Softsign": unary(lambda x: x / (xp.abs(x) + _c(x, 1))),
        "LeakyRelu": leaky_relu,
        "LogSoftmax": lambda step, args, ctx: _log_softmax(xp, args[0], step.attrs["axis"]),
        "BiasAdd": bias_add,
        "L2Loss": l2_loss,
        "SoftmaxCrossEntropyWithLogits": xent,
        "SparseSoftmaxCrossEntropyWithLogits": sparse_xent,
        "TopKV2": top_k,
        "InTopKV2": in_top_k,
        **array_kernels(xp),
        **math_kernels(xp),
        **sparse_kernels(xp),
        **linalg_kernels(xp),
    }


def array_kernels(xp: Any) -> dict[str, Any]:
    """Gather, one_hot, where, pad, split, unstack, reverse, range, linspace, cumsum."""

    def gather(step: Any, args: list, ctx: Any) -> Any:
        params, indices = args
        axis = step.attrs["axis"]
        check_range(step, xp, indices, params.shape[axis])
        return xp.take(params, indices.astype(xp.int64), axis=axis)

    def gather_nd(step: Any, args: list, ctx: Any) -> Any:
        params, indices = args
        depth = indices.shape[-1]
        for i in range(depth):
            check_range(step, xp, indices[..., i], params.shape[i], f"indices[...,{i}]")
        return params[tuple(indices[..., i].astype(xp.int64) for i in range(depth))]

    def one_hot(step: Any, args: list, ctx: Any) -> Any:
        a = step.attrs
        indices = args[0]
        hot = indices[..., None] == xp.arange(a["depth"], dtype=indices.dtype)
        dtype = a["dtype"].np
        out = xp.where(hot, dtype.type(a["on_value"]), dtype.type(a["off_value"])).astype(dtype)
        return out if a["axis"] in (-1, indices.ndim) else xp.ascontiguousarray(xp.moveaxis(out, -1, a["axis"]))

    def pad(step: Any, args: list, ctx: Any) -> Any:
        a = step.attrs
        mode = a.get("mode", "CONSTANT")
        if mode == "CONSTANT":
            value = args[0].dtype.type(a.get("constant_values", 0))
            return xp.pad(args[0], a["paddings"], mode="constant", constant_values=value)
        return xp.pad(args[0], a["paddings"], mode=mode.lower())

    def split(step: Any, args: list, ctx: Any) -> tuple:
        x, a = args[0], step.attrs
        axis = a["axis"]
        if "size_splits" in a:
            sizes = list(a["size_splits"])
            if -1 in sizes:
                sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
            if sum(sizes) != x.shape[axis] or min(sizes, default=0) < 0:
                raise _bad_arg(step, f"size_splits {list(a['size_splits'])} do not add up to dimension "
                               f"{axis} of size {x.shape[axis]}")  # fmt: skip
            bounds = [sum(sizes[: i + 1]) for i in range(len(sizes) - 1)]
            parts = xp.split(x, bounds, axis=axis)
        else:
            if x.shape[axis] % a["num_split"]:
                raise _bad_arg(step, f"Number of ways to split should evenly divide the split dimension, but got "
                               f"split_dim {axis} (size = {x.shape[axis]}) and num_split {a['num_split']}")  # fmt: skip
            parts = xp.split(x, a["num_split"], axis=axis)
        return tuple(xp.ascontiguousarray(p) for p in parts)

    def unpack(step: Any, args: list, ctx: Any) -> tuple:
        x, axis = args[0], step.attrs["axis"]
        if x.shape[axis] != step.attrs["num"]:
            raise _bad_arg(step, f"Input shape axis {axis} must equal {step.attrs['num']}, got shape {list(x.shape)}")
        return tuple(xp.ascontiguousarray(xp.take(x, i, axis=axis)) for i in range(x.shape[axis]))

    def cumsum(step: Any, args: list, ctx: Any) -> Any:
        x, a = args[0], step.attrs
        axis = a["axis"]
        if a["reverse"]:
            x = xp.flip(x, axis)
        out = xp.cumsum(x, axis=axis, dtype=x.dtype)
        if a["exclusive"]:
            out = out - x
        return xp.ascontiguousarray(xp.flip(out, axis) if a["reverse"] else out)

    def where(step: Any, args: list, ctx: Any) -> Any:
        return xp.argwhere(args[0]).astype(xp.int64)

    return {
        "GatherV2": gather,
        "GatherNd": gather_nd,
        "OneHot": one_hot,
        "Where": where,
        "Pad": pad,
        "PadV2": pad,
        "MirrorPad": pad,
        "Split": split,
        "SplitV": split,
        "Unpack": unpack,
        "ReverseV2": lambda step, args, ctx: xp.ascontiguousarray(xp.flip(args[0], step.attrs["axis"])),
        "Range": lambda step, args, ctx: xp.arange(*step.attrs["range"], dtype=step.attrs["Tidx"].np),
        "LinSpace": lambda step, args, ctx: xp.linspace(*step.attrs["range"], dtype=step.attrs["T"].np),
        "Cumsum": cumsum,
    }


def math_kernels(xp: Any) -> dict[str, Any]:
    """Elementwise functions, boolean reductions and einsum."""

    def unary(fn: Any) -> Any:
        return lambda step, args, ctx: fn(args[0])

    def reduce(fn: Any) -> Any:
        def kernel(step: Any, args: list, ctx: Any) -> Any:
            return xp.asarray(fn(args[0], axis=step.attrs["axis"], keepdims=step.attrs["keep_dims"]))

        return kernel

    def erf(x: Any) -> Any:
        if not _is_numpy(xp):
            from cupyx.scipy import special

            return special.erf(x)
        import numpy as np

        return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)

    def round_half_even(x: Any) -> Any:
        return xp.round(x) if x.dtype.kind in "fc" else x

    return {
        "Round": unary(round_half_even),
        "Rsqrt": unary(lambda x: _c(x, 1) / xp.sqrt(x)),
        "Reciprocal": unary(lambda x: _c(x, 1) / x if x.dtype.kind == "f" else xp.floor_divide(_c(x, 1), x)),
        "Log1p": unary(xp.log1p),
        "Expm1": unary(xp.expm1),
        "Sin": unary(xp.sin),
        "Cos": unary(xp.cos),
        "Erf": unary(erf),
        "IsFinite": unary(xp.isfinite),
        "Any": reduce(xp.any),
        "All": reduce(xp.all),
        "Einsum": lambda step, args, ctx: xp.asarray(xp.einsum(step.attrs["equation"], *args)),
    }


def host_random_kernels() -> dict[str, Any]:
    """Multinomial, RandomShuffle and the candidate samplers: uniforms from the shared Philox stream."""
    import numpy as np

    from graphvar import random as rnd

    def uniforms(step: Any, ctx: Any, shape: tuple, base: int = 0, run: Any = None) -> Any:
        key, this_run = ctx.session._random_stream(step) if run is None else run
        out = np.empty(shape, np.float64)
        rnd.fill_uniform(out, key, this_run, base=base)
        return out, (key, this_run)

    def multinomial(step: Any, args: list, ctx: Any) -> Any:
        logits = np.asarray(args[0], np.float64)
        a = step.attrs
        u, _ = uniforms(step, ctx, (logits.shape[0], a["num_samples"]))
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        cdf /= cdf[:, -1:]
        samples = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)  # the first class whose cdf exceeds u
        return np.minimum(samples, logits.shape[1] - 1).astype(a["output_dtype"].np)

    def shuffle(step: Any, args: list, ctx: Any) -> Any:
        x = args[0]
        u, _ = uniforms(step, ctx, (x.shape[0],))
        return np.ascontiguousarray(x[np.argsort(u, kind="stable")])

    return {
        "Multinomial": multinomial,
        "RandomShuffle": shuffle,
        **host_sampling_kernels(),
    }
