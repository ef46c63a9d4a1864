"""A word2vec-style skip-gram model: tf.nn.embedding_lookup (sparse IndexedSlices gradients applied
by the optimizer), a softmax over the vocabulary, a Saver round trip."""

import numpy as np

import graphvar as tf

VOCAB, DIM = 50, 8


def make_pairs(n=2000, seed=1):
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, VOCAB, n)
    contexts = (centers + rng.choice([-1, 1], n)) % VOCAB  # each word's neighbours are its context
    return centers.astype(np.int32), contexts.astype(np.int64)


def test_skip_gram_learns_and_restores(tmp_path):
    centers, contexts = make_pairs()
    train_inputs = tf.placeholder(tf.int32, shape=[None])
    train_labels = tf.placeholder(tf.int64, shape=[None])
    embeddings = tf.Variable(tf.random_uniform([VOCAB, DIM], -1.0, 1.0, seed=1), name="embeddings")
    embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    weights = tf.Variable(tf.truncated_normal([DIM, VOCAB], stddev=1.0 / np.sqrt(DIM), seed=2), name="weights")
    biases = tf.Variable(tf.zeros([VOCAB]), name="biases")
    logits = tf.nn.bias_add(tf.matmul(embed, weights), biases)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=train_labels, logits=logits))
    optimizer = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    grad = tf.gradients(loss, [embeddings])[0]
    assert isinstance(grad, tf.IndexedSlices)
    norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
    similarity = tf.matmul(embeddings / norm, embeddings / norm, transpose_b=True)
    saver = tf.train.Saver()
    feed = {train_inputs: centers, train_labels: contexts}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, feed)
        for step in range(150):
            batch = slice((step * 128) % 1872, (step * 128) % 1872 + 128)
            sess.run(optimizer, {train_inputs: centers[batch], train_labels: contexts[batch]})
        last, sim = sess.run([loss, similarity], feed)
        path = saver.save(sess, str(tmp_path / "w2v"))
    assert last < first * 0.7
    with tf.Session() as sess:
        saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(similarity), sim)
        assert sess.run(loss, feed) == last
