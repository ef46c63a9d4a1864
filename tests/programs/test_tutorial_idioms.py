"""TF1's MNIST tutorials' idioms, unchanged: InteractiveSession, op.run / tensor.eval, a placeholder keep_prob."""

from __future__ import annotations

import numpy as np

import graphvar as tf


def _batches(seed: int):
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal((784, 10))

    def next_batch(n: int) -> tuple[np.ndarray, np.ndarray]:
        xs = rng.random((n, 784)).astype(np.float32)
        return xs, np.eye(10, dtype=np.float32)[np.argmax(xs @ w_true, 1)]

    return next_batch


def test_deep_mnist_style_program_trains_saves_and_restores(tmp_path):
    next_batch = _batches(0)
    tf.reset_default_graph()
    tf.set_random_seed(7)
    x = tf.placeholder(tf.float32, [None, 784])
    y_ = tf.placeholder(tf.float32, [None, 10])
    keep_prob = tf.placeholder(tf.float32)  # shape unknown, as in the tutorial

    def weight_variable(shape):
        return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

    def bias_variable(shape):
        return tf.Variable(tf.constant(0.1, shape=shape))

    x_image = tf.reshape(x, [-1, 28, 28, 1])
    w_conv1, b_conv1 = weight_variable([5, 5, 1, 4]), bias_variable([4])
    h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, w_conv1, strides=[1, 1, 1, 1], padding="SAME") + b_conv1)
    h_pool1 = tf.nn.max_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    h_flat = tf.reshape(h_pool1, [-1, 14 * 14 * 4])
    h_drop = tf.nn.dropout(h_flat, keep_prob)
    assert h_drop.shape.as_list() == [None, 14 * 14 * 4]
    w_fc, b_fc = weight_variable([14 * 14 * 4, 10]), bias_variable([10])
    y_conv = tf.matmul(h_drop, w_fc) + b_fc
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
    train_step = tf.train.AdamOptimizer(1e-3).minimize(cross_entropy)
    correct = tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    saver = tf.train.Saver()

    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    test_x, test_y = next_batch(200)
    first = cross_entropy.eval(feed_dict={x: test_x, y_: test_y, keep_prob: 1.0})
    for _ in range(40):
        bx, by = next_batch(32)
        train_step.run(feed_dict={x: bx, y_: by, keep_prob: 0.5})
    last = cross_entropy.eval(feed_dict={x: test_x, y_: test_y, keep_prob: 1.0})
    assert last < 0.8 * first
    acc = accuracy.eval(feed_dict={x: test_x, y_: test_y, keep_prob: 1.0})
    path = saver.save(sess, str(tmp_path / "model.ckpt"))
    sess.close()

    with tf.Session() as fresh:
        saver.restore(fresh, path)
        again = fresh.run(accuracy, {x: test_x, y_: test_y, keep_prob: 1.0})
    assert again == acc
