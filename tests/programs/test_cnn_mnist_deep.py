"""A two-conv-layer CNN in the style of TF1's "Deep MNIST for experts" (conv 5x5 -> pool -> conv 5x5 ->
pool -> fc -> dropout -> fc), on generated 14x14 images: the loss falls, and a Saver round trip
reproduces the evaluation exactly."""

import numpy as np

import graphvar as tf


def make_images(n=400, seed=0):
    rng = np.random.default_rng(seed)
    templates = rng.normal(size=(10, 14, 14)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    shift = rng.integers(-1, 2, size=(n, 2))  # small translations: the convolution has something to do
    images = np.stack([np.roll(templates[c], tuple(s), axis=(0, 1)) for c, s in zip(labels, shift)])
    images = images + 0.5 * rng.normal(size=images.shape).astype(np.float32)
    return images.reshape(n, 196).astype(np.float32), np.eye(10, dtype=np.float32)[labels]


def weight_variable(shape):
    return tf.Variable(tf.truncated_normal(shape, stddev=0.1, seed=1))


def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))


def conv2d(x, W):
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x):
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def test_deep_mnist_style_cnn_learns_and_restores(tmp_path):
    tf.set_random_seed(0)
    images, labels = make_images()
    x = tf.placeholder(tf.float32, [None, 196])
    y_ = tf.placeholder(tf.float32, [None, 10])
    keep_prob = tf.placeholder(tf.float32)
    x_image = tf.reshape(x, [-1, 14, 14, 1])

    W_conv1, b_conv1 = weight_variable([5, 5, 1, 8]), bias_variable([8])
    h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1))
    W_conv2, b_conv2 = weight_variable([5, 5, 8, 16]), bias_variable([16])
    h_pool2 = max_pool_2x2(tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2))
    assert h_pool2.shape.as_list() == [None, 4, 4, 16]

    W_fc1, b_fc1 = weight_variable([4 * 4 * 16, 64]), bias_variable([64])
    h_fc1 = tf.nn.relu(tf.matmul(tf.reshape(h_pool2, [-1, 4 * 4 * 16]), W_fc1) + b_fc1)
    h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)
    W_fc2, b_fc2 = weight_variable([64, 10]), bias_variable([10])
    y_conv = tf.matmul(h_fc1_drop, W_fc2) + b_fc2

    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
    train_step = tf.train.AdamOptimizer(3e-3).minimize(cross_entropy)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1)), tf.float32))
    saver = tf.train.Saver()
    evaluate = {x: images, y_: labels, keep_prob: 1.0}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(cross_entropy, evaluate)
        for i in range(50):
            batch = slice((i * 50) % 400, (i * 50) % 400 + 50)
            sess.run(train_step, {x: images[batch], y_: labels[batch], keep_prob: 0.5})
        last, acc = sess.run([cross_entropy, accuracy], evaluate)
        path = saver.save(sess, str(tmp_path / "cnn.ckpt"))
    assert last < first / 4, (first, last)
    assert acc > 0.8, acc
    with tf.Session() as sess:
        saver.restore(sess, path)
        assert sess.run([cross_entropy, accuracy], evaluate) == [last, acc]
