"""An MNIST-style softmax regression, written as TF1 programs are: placeholders, a Variable per
parameter, tf.nn.softmax_cross_entropy_with_logits, GradientDescentOptimizer, a Saver round trip."""

import numpy as np

import graphvar as tf


def make_data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(10, 64)).astype(np.float32) * 2
    labels = rng.integers(0, 10, n)
    images = (centers[labels] + rng.normal(size=(n, 64))).astype(np.float32)
    return images, np.eye(10, dtype=np.float32)[labels]


def test_softmax_regression_learns_and_restores(tmp_path):
    images, labels = make_data()
    x = tf.placeholder(tf.float32, [None, 64])
    y_ = tf.placeholder(tf.float32, [None, 10])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.matmul(x, W) + b
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.1).minimize(cross_entropy)
    correct = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    saver = tf.train.Saver()
    feed = {x: images, y_: labels}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(cross_entropy, feed)
        for i in range(60):
            batch = slice((i * 100) % 600, (i * 100) % 600 + 100)
            sess.run(train_step, {x: images[batch], y_: labels[batch]})
        last, acc = sess.run([cross_entropy, accuracy], feed)
        path = saver.save(sess, str(tmp_path / "model.ckpt"))
    assert last < first / 4 and acc > 0.9
    with tf.Session() as sess:
        saver.restore(sess, path)
        assert sess.run([cross_entropy, accuracy], feed) == [last, acc]
