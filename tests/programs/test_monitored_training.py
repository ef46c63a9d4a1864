"""TF1 training programs as they are written with MonitoredTrainingSession and ExponentialMovingAverage:

1. a conv1d + dense classifier trained in a MonitoredTrainingSession with StopAtStepHook, checkpoint_dir,
   LoggingTensorHook and summaries; run twice, the second run resumes from the saved global step and
   continues to the new last step (the loss keeps falling, the checkpoints carry TF's names);
2. training that keeps an EMA of the weights (train op = minimize then ema.apply), then an evaluation
   graph restoring the averages through ``ema.variables_to_restore()``: it sees the shadow values.
"""

import numpy as np

import graphvar as tf


def make_data(n=256, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12, 2)).astype(np.float32)
    labels = (x[:, :, 0].mean(1) > x[:, :, 1].mean(1)).astype(np.int64)
    return x, labels


def build(x_data, labels):
    x = tf.placeholder_with_default(tf.constant(x_data), [None, 12, 2], name="x")
    y = tf.placeholder_with_default(tf.constant(labels), [None], name="y")
    h = tf.layers.conv1d(x, 8, 3, padding="same", activation=tf.nn.relu)
    logits = tf.layers.dense(tf.layers.flatten(h), 2)
    loss = tf.losses.sparse_softmax_cross_entropy(y, logits)
    loss = tf.check_numerics(loss, "loss")
    tf.summary.scalar("loss", loss)
    gs = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.01).minimize(loss, global_step=gs)
    return loss, gs, train


def train_until(ckpt_dir, last_step, x_data, labels):
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        loss, gs, train = build(x_data, labels)
        hooks = [tf.train.StopAtStepHook(last_step=last_step), tf.train.NanTensorHook(loss),
                 tf.train.LoggingTensorHook({"loss": loss, "step": gs}, every_n_iter=10)]  # fmt: skip
        losses = []
        with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir, hooks=hooks, save_checkpoint_steps=15,
                                               save_summaries_steps=10, log_step_count_steps=10) as sess:  # fmt: skip
            first = int(sess.run(gs))
            while not sess.should_stop():
                _, value = sess.run([train, loss])
                losses.append(value)
            return first, int(sess.run(gs)), losses


def test_monitored_training_session_resumes_from_checkpoint_dir(tmp_path):
    x_data, labels = make_data()
    ckpt = str(tmp_path / "train")
    first, last, losses = train_until(ckpt, 20, x_data, labels)
    assert (first, last, len(losses)) == (0, 20, 20)
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-20")
    w_after_first = tf.train.load_variable(ckpt, "conv1d/kernel")
    first2, last2, losses2 = train_until(ckpt, 45, x_data, labels)
    assert (first2, last2, len(losses2)) == (20, 45, 25)  # resumed: not re-initialized
    assert losses2[0] < losses[0] and losses2[-1] < losses2[0]
    names = dict(tf.train.list_variables(ckpt))
    assert {"global_step", "conv1d/kernel", "conv1d/kernel/Adam", "dense/bias/Adam_1", "beta1_power"} <= set(names)
    assert not np.array_equal(w_after_first, tf.train.load_variable(ckpt, "conv1d/kernel"))


def test_ema_of_weights_evaluated_through_variables_to_restore(tmp_path):
    x_data, labels = make_data()
    path = str(tmp_path / "ema.ckpt")
    with tf.Graph().as_default():
        tf.set_random_seed(2)
        loss, gs, train = build(x_data, labels)
        ema = tf.train.ExponentialMovingAverage(0.9, num_updates=gs)
        with tf.control_dependencies([train]):
            train_and_average = ema.apply(tf.trainable_variables())
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(30):
                sess.run(train_and_average)
            kernel = [v for v in tf.trainable_variables() if v.op.name == "dense/kernel"][0]
            trained, averaged = sess.run([kernel, ema.average(kernel)])
            saver.save(sess, path)
    assert not np.allclose(trained, averaged)
    with tf.Graph().as_default():
        loss, gs, _ = build(x_data, labels)
        ema = tf.train.ExponentialMovingAverage(0.9)
        restore = ema.variables_to_restore()
        assert restore["dense/kernel/ExponentialMovingAverage"].op.name == "dense/kernel"
        with tf.Session() as sess:
            tf.train.Saver(restore).restore(sess, path)
            kernel = [v for v in tf.trainable_variables() if v.op.name == "dense/kernel"][0]
            np.testing.assert_array_equal(sess.run(kernel), averaged)
            assert np.isfinite(sess.run(loss))
