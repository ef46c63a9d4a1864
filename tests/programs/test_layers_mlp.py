"""A tf.layers MLP trained on tf.losses, the TF1 way: dense + batch_normalization(training=flag) +
dropout, an L2 kernel_regularizer, get_total_loss(), and the train op under UPDATE_OPS control
dependencies; the loss falls, and a Saver round trip (moving statistics included) reproduces the
evaluation exactly."""

import numpy as np

import graphvar as tf


def make_data(n=512, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20)).astype(np.float32)
    w = rng.normal(size=(20, 4))
    labels = np.argmax(np.tanh(x @ w) + 0.1 * rng.normal(size=(n, 4)), axis=1).astype(np.int32)
    return x * 3.0 + 1.0, labels  # badly scaled inputs: batch normalization has work to do


def test_layers_mlp_with_losses_learns_and_restores(tmp_path):
    tf.set_random_seed(0)
    data, labels = make_data()
    x = tf.placeholder(tf.float32, [None, 20], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    training = tf.placeholder(tf.bool, [], name="training")
    l2 = lambda w: 1e-4 * tf.nn.l2_loss(w)  # noqa: E731
    with tf.variable_scope("mlp"):
        h = tf.layers.dense(x, 64, kernel_regularizer=l2)
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
        h = tf.layers.dropout(h, rate=0.2, training=training)
        h = tf.layers.dense(h, 32, activation=tf.nn.relu, kernel_regularizer=l2)
        logits = tf.layers.dense(h, 4, name="logits")
    tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
    loss = tf.losses.get_total_loss()
    global_step = tf.train.get_or_create_global_step()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(1e-2).minimize(loss, global_step=global_step)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), y), tf.float32))

    names = [v.op.name for v in tf.global_variables()]
    assert names[:6] == ["mlp/dense/kernel", "mlp/dense/bias", "mlp/batch_normalization/gamma",
                         "mlp/batch_normalization/beta", "mlp/batch_normalization/moving_mean",
                         "mlp/batch_normalization/moving_variance"]  # fmt: skip
    assert "mlp/dense_1/kernel" in names and "mlp/logits/bias" in names
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 2

    saver = tf.train.Saver()
    evaluate = {x: data, y: labels, training: False}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, evaluate)
        for i in range(80):
            batch = slice((i * 64) % 512, (i * 64) % 512 + 64)
            sess.run(train_op, {x: data[batch], y: labels[batch], training: True})
        last, acc, mm = sess.run([loss, accuracy, "mlp/batch_normalization/moving_mean:0"], evaluate)
        path = saver.save(sess, str(tmp_path / "mlp.ckpt"), global_step=global_step)
    assert path.endswith("mlp.ckpt-80")
    assert last < first / 2, (first, last)
    assert acc > 0.8, acc
    assert np.abs(mm).max() > 0.1  # the UPDATE_OPS ran with the train op
    with tf.Session() as sess:
        saver.restore(sess, path)
        assert sess.run([loss, accuracy], evaluate) == [last, acc]
