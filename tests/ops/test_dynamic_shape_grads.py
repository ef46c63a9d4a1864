"""Gradients of TopKV2 and GatherNd when shapes are known only at run time (placeholders with None dims),
against float64 central differences; GatherNd with [N, 1] indices gives an IndexedSlices, as TF."""

import numpy as np
import pytest

import graphvar as tf
from tests.gradcheck import check_gradients

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("shape", [[None, None, 4], [None, 4], None])
def test_top_k_gradient_dynamic_shapes(shape):
    x = RNG.permutation(24).reshape(2, 3, 4) / 5.0
    if shape is not None and len(shape) == 2:
        x = x.reshape(6, 4)
    check_gradients(lambda t: tf.nn.top_k(t, 2)[0], [x], shapes=[shape] if shape is not None else [None])


@pytest.mark.parametrize(
    "indices, shape",
    [([[0, 1], [1, 2], [0, 1]], [None, None, 3]),  # a repeated index: contributions add up
     ([[[1, 0, 2]], [[0, 2, 1]]], [None, None, None]),  # full indices: scalars
     ([[1], [0], [1]], [None, 3])],  # [N, 1]: rows, as an IndexedSlices
)  # fmt: skip
def test_gather_nd_gradient_dynamic_shapes(indices, shape):
    params = RNG.normal(size=(2, 3, 3)) if len(shape) == 3 else RNG.normal(size=(2, 3))
    check_gradients(lambda p: tf.gather_nd(p, indices), [params], shapes=[shape])


def test_gather_nd_rows_gradient_is_indexed_slices():
    p = tf.placeholder(tf.float32, [None, 3])
    g = tf.gradients(tf.reduce_sum(tf.gather_nd(p, [[2], [0]])), p)[0]
    assert isinstance(g, tf.IndexedSlices)
    with tf.Session() as sess:
        values, indices = sess.run([g.values, g.indices], {p: np.zeros((4, 3))})
    np.testing.assert_array_equal(indices, [2, 0])
    np.testing.assert_array_equal(values, np.ones((2, 3)))
