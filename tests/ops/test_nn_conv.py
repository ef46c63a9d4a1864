"""Convolution and pooling forward values against direct-loop float64 references written here.

The references follow TF's documented rules (SAME: out = ceil(in / stride), total padding
max((out - 1) * stride + k_eff - in, 0), the smaller half first); the backprop ops are checked by
the adjoint identity <conv(x, w), dy> = <x, backprop_input(dy)> = <w, backprop_filter(x, dy)>.
"""

import itertools

import numpy as np
import pytest

import graphvar as tf

RNG = np.random.default_rng(7)


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def _pads(size, k, stride, dilation, padding):
    eff = (k - 1) * dilation + 1
    if padding == "VALID":
        return (size - eff) // stride + 1, 0
    out = -(-size // stride)
    return out, max((out - 1) * stride + eff - size, 0) // 2


def ref_conv(x, w, strides, padding, dilations=(1, 1)):
    """NHWC cross-correlation, one output pixel at a time, skipping taps that land in padding."""
    n, h, wd, c = x.shape
    kh, kw, _, oc = w.shape
    oh, top = _pads(h, kh, strides[0], dilations[0], padding)
    ow, left = _pads(wd, kw, strides[1], dilations[1], padding)
    out = np.zeros((n, oh, ow, oc))
    for r, s, i, j in itertools.product(range(oh), range(ow), range(kh), range(kw)):
        y, z = r * strides[0] - top + i * dilations[0], s * strides[1] - left + j * dilations[1]
        if 0 <= y < h and 0 <= z < wd:
            out[:, r, s, :] += x[:, y, z, :].astype(np.float64) @ w[i, j].astype(np.float64)
    return out


def ref_pool(x, k, strides, padding, kind):
    n, h, wd, c = x.shape
    oh, top = _pads(h, k[0], strides[0], 1, padding)
    ow, left = _pads(wd, k[1], strides[1], 1, padding)
    out = np.zeros((n, oh, ow, c))
    for r, s in itertools.product(range(oh), range(ow)):
        y0, z0 = r * strides[0] - top, s * strides[1] - left
        win = x[:, max(y0, 0) : y0 + k[0], max(z0, 0) : z0 + k[1], :].astype(np.float64)
        out[:, r, s, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


def ref_depthwise(x, w, strides, padding, dilations=(1, 1)):
    c, m = w.shape[2:]
    outs = [ref_conv(x[..., ci : ci + 1], w[:, :, ci : ci + 1, :], strides, padding, dilations) for ci in range(c)]
    return np.concatenate(outs, axis=-1).reshape(outs[0].shape[:3] + (c * m,))


def _nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


CONV_CASES = [
    # x shape, filter shape, strides, padding, dilations
    ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ((2, 7, 6, 3), (3, 2, 3, 4), (2, 2), "SAME", (1, 1)),
    ((1, 8, 8, 2), (4, 4, 2, 3), (2, 3), "SAME", (1, 1)),
    ((2, 7, 6, 3), (3, 3, 3, 2), (1, 2), "VALID", (1, 1)),
    ((1, 9, 9, 2), (3, 3, 2, 2), (1, 1), "SAME", (2, 2)),
    ((1, 9, 10, 2), (2, 3, 2, 2), (1, 1), "VALID", (2, 3)),
    ((3, 5, 5, 1), (5, 5, 1, 2), (1, 1), "SAME", (1, 1)),
]


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("xs, fs, strides, padding, dil", CONV_CASES)
def test_conv2d_matches_loops(xs, fs, strides, padding, dil, fmt):
    x, w = RNG.standard_normal(xs).astype(np.float32), RNG.standard_normal(fs).astype(np.float32)
    want = ref_conv(x, w, strides, padding, dil)
    xin = x if fmt == "NHWC" else _nchw(x)
    s4 = [1, *strides, 1] if fmt == "NHWC" else [1, 1, *strides]
    d4 = [1, *dil, 1] if fmt == "NHWC" else [1, 1, *dil]
    y = tf.nn.conv2d(tf.constant(xin), tf.constant(w), strides=s4, padding=padding, data_format=fmt, dilations=d4)
    assert y.shape.as_list() == list(want.shape if fmt == "NHWC" else _nchw(want).shape)
    got = run(y)
    np.testing.assert_allclose(got if fmt == "NHWC" else got.transpose(0, 2, 3, 1), want, rtol=1e-4, atol=1e-4)


def test_conv2d_tf1_argument_names_and_explicit_padding():
    x, w = RNG.standard_normal((1, 5, 5, 2)), RNG.standard_normal((3, 3, 2, 1))
    y = tf.nn.conv2d(input=tf.constant(x), filter=tf.constant(w), strides=[1, 1, 1, 1], padding="VALID",
                     use_cudnn_on_gpu=True, data_format="NHWC")  # fmt: skip
    np.testing.assert_allclose(run(y), ref_conv(x, w, (1, 1), "VALID"), rtol=1e-10)
    padded = np.pad(x, ((0, 0), (2, 0), (1, 1), (0, 0)))
    y = tf.nn.conv2d(tf.constant(x), filters=tf.constant(w), strides=1, padding=[[0, 0], [2, 0], [1, 1], [0, 0]])
    assert y.shape.as_list() == [1, 5, 5, 1]
    np.testing.assert_allclose(run(y), ref_conv(padded, w, (1, 1), "VALID"), rtol=1e-10)


def test_conv2d_unknown_batch_is_fed():
    x = tf.placeholder(tf.float32, [None, 6, 6, 1])
    w = RNG.standard_normal((5, 5, 1, 3)).astype(np.float32)
    y = tf.nn.conv2d(x, tf.constant(w), [1, 1, 1, 1], "SAME")
    assert y.shape.as_list() == [None, 6, 6, 3]
    xv = RNG.standard_normal((4, 6, 6, 1)).astype(np.float32)
    np.testing.assert_allclose(run(y, {x: xv}), ref_conv(xv, w, (1, 1), "SAME"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xs, fs, strides, padding, dil", CONV_CASES)
def test_backprop_ops_are_the_adjoints_of_conv2d(xs, fs, strides, padding, dil):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(fs)
    s4, d4 = [1, *strides, 1], [1, *dil, 1]
    dy = RNG.standard_normal(ref_conv(x, w, strides, padding, dil).shape)
    dx = tf.nn.conv2d_backprop_input(list(xs), tf.constant(w), tf.constant(dy), s4, padding, dilations=d4)
    dw = tf.nn.conv2d_backprop_filter(tf.constant(x), list(fs), tf.constant(dy), s4, padding, dilations=d4)
    assert dx.shape.as_list() == list(xs) and dw.shape.as_list() == list(fs)
    dxv, dwv = run([dx, dw])
    conv_dot = float(np.sum(ref_conv(x, w, strides, padding, dil) * dy))
    np.testing.assert_allclose(np.sum(x * dxv), conv_dot, rtol=1e-10)
    np.testing.assert_allclose(np.sum(w * dwv), conv_dot, rtol=1e-10)
    # each input pixel's gradient, directly: d<conv(x, w), dy>/dx[p] for one p
    e = np.zeros(xs)
    e[0, xs[1] // 2, xs[2] - 1, 0] = 1.0
    np.testing.assert_allclose(dxv[0, xs[1] // 2, xs[2] - 1, 0], np.sum(ref_conv(e, w, strides, padding, dil) * dy))


def test_conv2d_transpose_inverts_shapes_and_is_the_adjoint():
    x = RNG.standard_normal((2, 4, 4, 3))
    w = RNG.standard_normal((3, 3, 5, 3))  # [h, w, out_channels, in_channels]
    y = tf.nn.conv2d_transpose(tf.constant(x), tf.constant(w), output_shape=[2, 8, 8, 5], strides=[1, 2, 2, 1])
    assert y.op.type == "Conv2DBackpropInput" and y.shape.as_list() == [2, 8, 8, 5]
    z = RNG.standard_normal((2, 8, 8, 5))
    np.testing.assert_allclose(np.sum(run(y) * z), np.sum(ref_conv(z, w, (2, 2), "SAME") * x), rtol=1e-10)
    with pytest.raises(ValueError, match="Size of out_backprop doesn't match"):
        tf.nn.conv2d_transpose(tf.constant(x), tf.constant(w), [2, 12, 12, 5], [1, 2, 2, 1])
    with pytest.raises(ValueError, match="input channels does not match"):
        tf.nn.conv2d_transpose(tf.constant(x), tf.constant(w[..., :2]), [2, 8, 8, 5], [1, 2, 2, 1])


POOL_CASES = [
    ((2, 6, 6, 3), (2, 2), (2, 2), "SAME"),
    ((2, 7, 5, 3), (2, 2), (2, 2), "SAME"),
    ((1, 7, 7, 2), (3, 3), (2, 2), "SAME"),
    ((1, 7, 7, 2), (3, 3), (2, 2), "VALID"),
    ((1, 5, 8, 1), (2, 3), (1, 2), "SAME"),
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("xs, k, strides, padding", POOL_CASES)
def test_pooling_matches_loops(xs, k, strides, padding, fmt, kind):
    x = RNG.standard_normal(xs).astype(np.float32) - 3.0  # negative: SAME's padding must never win a max
    want = ref_pool(x, k, strides, padding, kind)
    fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
    k4 = [1, *k, 1] if fmt == "NHWC" else [1, 1, *k]
    s4 = [1, *strides, 1] if fmt == "NHWC" else [1, 1, *strides]
    y = fn(tf.constant(x if fmt == "NHWC" else _nchw(x)), ksize=k4, strides=s4, padding=padding, data_format=fmt)
    got = run(y)
    got = got if fmt == "NHWC" else got.transpose(0, 2, 3, 1)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("strides, padding, rate", [((1, 1), "SAME", None), ((2, 2), "SAME", None),
                                                    ((1, 1), "VALID", None), ((1, 1), "SAME", [2, 2])])  # fmt: skip
def test_depthwise_conv2d_matches_loops(strides, padding, rate):
    x, w = RNG.standard_normal((2, 7, 6, 3)), RNG.standard_normal((3, 3, 3, 2))
    y = tf.nn.depthwise_conv2d(tf.constant(x), tf.constant(w), [1, *strides, 1], padding, rate=rate)
    want = ref_depthwise(x, w, strides, padding, tuple(rate or (1, 1)))
    assert y.shape.as_list() == list(want.shape)
    np.testing.assert_allclose(run(y), want, rtol=1e-10, atol=1e-12)


def test_shape_errors_name_the_op():
    x = tf.constant(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"Depth of input \(3\).*'c' \(op: 'Conv2D'\)"):
        tf.nn.conv2d(x, tf.zeros([3, 3, 2, 4]), [1, 1, 1, 1], "SAME", name="c")
    with pytest.raises(ValueError, match="Computed output size would be negative"):
        tf.nn.conv2d(x, tf.zeros([7, 7, 3, 4]), [1, 1, 1, 1], "VALID")
    with pytest.raises(ValueError, match="batch and depth"):
        tf.nn.conv2d(x, tf.zeros([3, 3, 3, 4]), [2, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="padding must be"):
        tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "FULL")
    with pytest.raises(ValueError, match="must be 4-dimensional"):
        tf.nn.max_pool(tf.zeros([5, 5]), [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    with pytest.raises(TypeError, match="DataType int32"):
        tf.nn.conv2d(tf.zeros([1, 5, 5, 3], tf.int32), tf.zeros([3, 3, 3, 4], tf.int32), [1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="rate > 1"):
        tf.nn.depthwise_conv2d(x, tf.zeros([3, 3, 3, 1]), [1, 2, 2, 1], "SAME", rate=[2, 2])
