"""Word2vec-style skip-gram models: tf.nn.embedding_lookup (sparse IndexedSlices gradients applied
by the optimizer) with a softmax over the vocabulary, and TF's word2vec_basic.py graph with
tf.nn.nce_loss; each with a Saver round trip."""

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


def test_nce_skip_gram_as_word2vec_basic(tmp_path):
    """TF's word2vec_basic.py graph: embeddings, nce_weights / nce_biases, tf.nn.nce_loss with the default
    (seeded) log-uniform sampler, SGD on the sparse gradients, cosine similarity of validation words."""
    centers, contexts = make_pairs()
    batch_size, num_sampled = 128, 8
    tf.set_random_seed(3)
    train_inputs = tf.placeholder(tf.int32, shape=[batch_size])
    train_labels = tf.placeholder(tf.int32, shape=[batch_size, 1])
    valid_dataset = tf.constant([0, 7, 21], dtype=tf.int32)
    with tf.name_scope("embeddings"):
        embeddings = tf.Variable(tf.random_uniform([VOCAB, DIM], -1.0, 1.0))
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    with tf.name_scope("weights"):
        nce_weights = tf.Variable(tf.truncated_normal([VOCAB, DIM], stddev=1.0 / np.sqrt(DIM)))
    with tf.name_scope("biases"):
        nce_biases = tf.Variable(tf.zeros([VOCAB]))
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(
            tf.nn.nce_loss(
                weights=nce_weights,
                biases=nce_biases,
                labels=train_labels,
                inputs=embed,
                num_sampled=num_sampled,
                num_classes=VOCAB,
            )  # fmt: skip
        )
    optimizer = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    assert all(isinstance(g, tf.IndexedSlices) for g in tf.gradients(loss, [embeddings, nce_weights]))
    norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
    normalized_embeddings = embeddings / norm
    valid_embeddings = tf.nn.embedding_lookup(normalized_embeddings, valid_dataset)
    similarity = tf.matmul(valid_embeddings, normalized_embeddings, transpose_b=True)
    saver = tf.train.Saver()
    losses = []
    with tf.Session() as sess:
        tf.global_variables_initializer().run()
        for step in range(300):
            start = (step * batch_size) % (len(centers) - batch_size)
            feed = {train_inputs: centers[start : start + batch_size],
                    train_labels: contexts[start : start + batch_size, None]}  # fmt: skip
            _, loss_val = sess.run([optimizer, loss], feed_dict=feed)
            losses.append(loss_val)
        sim = similarity.eval()
        path = saver.save(sess, str(tmp_path / "model.ckpt"))
    assert np.mean(losses[-30:]) < 0.6 * np.mean(losses[:30])
    # words with the same contexts end up close: 7 shares 6 and 8 with 5 and 9
    nearest = (-sim[1]).argsort()[1:4]
    assert {5, 9} <= set(nearest.tolist())
    with tf.Session() as sess:
        saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(similarity), sim)
