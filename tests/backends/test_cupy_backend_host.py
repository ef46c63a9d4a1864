"""graphvar/backends/cupy_backend.py without a GPU: the real backend, a fake CuPy (tests/backends/fake_cupy.py)
whose kernels are the host build of kernels/*.cu, compared with the NumPy backend in the same Session."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar as tf
from graphvar import backends
from graphvar import random as gr
from tests.backends.conftest import install_fake_cupy
from tests.backends.fake_cupy import DeviceArray
from tests.ulp import ULP_BOUNDS, ulp_distance

SHAPES = [(1,), (3, 7, 13), (1031,), (0, 4)]  # none a multiple of the 256-thread block
FLOATS = [tf.float16, tf.float32, tf.float64]


def both(make):
    """Builds make() once on the default device (the fake GPU) and once under /cpu:0."""
    on_gpu = make()
    with tf.device("/cpu:0"):
        on_host = make()
    return on_gpu, on_host


def gpu_slot_types(sess, variables):
    return {type(sess._variable_slot(v).value) for v in variables}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_float_bit_identical(fake_gpu, dtype, shape):
    pairs = [both(lambda: tf.Variable(tf.random_uniform(shape, -2.5, 7.0, dtype=dtype, seed=11))),
             both(lambda: tf.Variable(tf.random_uniform(shape, dtype=dtype, seed=12)))]  # fmt: skip
    with tf.Session() as sess:
        for run in range(2):  # run index 0 and 1
            sess.run(tf.global_variables_initializer())
            for gpu_var, host_var in pairs:
                g, h = sess.run([gpu_var, host_var])
                assert g.dtype == h.dtype == dtype.np and g.shape == shape
                assert g.tobytes() == h.tobytes(), (dtype, shape, run)
        assert gpu_slot_types(sess, [p[0] for p in pairs]) == {DeviceArray}
        assert gpu_slot_types(sess, [p[1] for p in pairs]) == {np.ndarray}
    suffix = {tf.float16: "f16", tf.float32: "f32", tf.float64: "f64"}[dtype]
    launched = {entry[1] for entry in fake_gpu.log if entry[0] == "launch"}
    assert launched == ({f"uniform_{suffix}"} if 0 not in shape else set())


@pytest.mark.parametrize("dtype,lo,hi", [(tf.int32, -10, 1000), (tf.int32, -(2**31), 2**31 - 1),
                                         (tf.int64, -(2**62), 2**62), (tf.int64, 5, 6)])  # fmt: skip
def test_uniform_int_bit_identical(fake_gpu, dtype, lo, hi):
    gpu_var, host_var = both(lambda: tf.Variable(tf.random_uniform([1001], lo, hi, dtype=dtype, seed=3)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        g, h = sess.run([gpu_var, host_var])
    assert g.tobytes() == h.tobytes()
    assert g.min() >= lo and g.max() < hi


ULP_BOUND = {tf.as_dtype(d): b for d, b in ULP_BOUNDS.items()}  # docs/random.md


@pytest.mark.parametrize("op", [tf.random_normal, tf.truncated_normal])
@pytest.mark.parametrize("dtype", FLOATS)
def test_normals_within_ulp_bound(fake_gpu, op, dtype):
    std = both(lambda: tf.Variable(op([2001], dtype=dtype, seed=5)))
    scaled = both(lambda: tf.Variable(op([3, 333], mean=0.5, stddev=2.0, dtype=dtype, seed=6)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        (g, h), (gs, hs) = sess.run([std, scaled])
    assert ulp_distance(g, h) <= ULP_BOUND[dtype]
    eps = float(np.finfo(dtype.np).eps)
    np.testing.assert_allclose(
        gs.astype(float), hs.astype(float), rtol=0, atol=2.0 * 6.0 * eps * (ULP_BOUND[dtype] + 2)
    )
    if op is tf.truncated_normal:
        assert np.abs(g.astype(float)).max() <= 2.0


@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64, tf.int32, tf.int64, tf.bool, tf.int8,
                                   tf.complex64])  # fmt: skip
def test_fill_matches_host(fake_gpu, dtype):
    value = {tf.bool: True, tf.complex64: 1.5 - 2j}.get(dtype, 3)
    pairs = [both(lambda: tf.Variable(tf.zeros([5, 77], dtype))), both(lambda: tf.Variable(tf.ones([1], dtype))),
             both(lambda: tf.Variable(tf.fill([1030], tf.constant(value, dtype))))]  # fmt: skip
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for gpu_var, host_var in pairs:
            g, h = sess.run([gpu_var, host_var])
            assert g.dtype == h.dtype and g.tobytes() == h.tobytes()
        # an unfused Fill (fetched directly) allocates its own output
        fetched = both(lambda: tf.fill([9], tf.constant(value, dtype)))
        g, h = sess.run(fetched)
        assert g.tobytes() == h.tobytes()


def test_random_uses_our_kernels_not_fallbacks(fake_gpu):
    v = tf.Variable(tf.truncated_normal([100], seed=1))
    w = tf.Variable(tf.zeros([10], tf.int64))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(v.assign_add(tf.ones([100])))
        assert sess.host_fallbacks == {}
    launched = [entry[1] for entry in fake_gpu.log if entry[0] == "launch"]
    assert sorted(launched) == ["assign_add_f32", "fill_f32", "fill_i64", "truncated_normal_f32"]
    assert w.dtype == tf.int64


@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64, tf.int32, tf.int64, tf.uint8])
def test_assign_ops_match_host(fake_gpu, dtype):
    rng = np.random.default_rng(0)
    if dtype.is_integer:
        info = np.iinfo(dtype.np)
        a, b = (rng.integers(info.min, info.max, 515, dtype=dtype.np, endpoint=True) for _ in range(2))
    else:
        a, b = ((rng.standard_normal(515) * 1e3).astype(dtype.np) for _ in range(2))
    results = []
    for device in ("", "/cpu:0"):
        tf.reset_default_graph()
        with tf.device(device):
            v = tf.Variable(tf.zeros([515], dtype))
            ops = [v.assign(a), v.assign_add(b), v.assign_sub(a), v.assign_add(v)]
        with tf.Session() as sess:
            sess.run(v.initializer)
            results.append([sess.run(op).tobytes() for op in ops])  # wraps around, rounds as NumPy does
    assert results[0] == results[1]


def test_assign_errors_match_host(fake_gpu):
    messages = []
    for device in ("", "/cpu:0"):
        tf.reset_default_graph()
        with tf.device(device):
            v = tf.Variable(tf.zeros([4]), name="v")
            p = tf.placeholder(tf.float32, shape=None, name="p")
            add, assign = v.assign_add(p), tf.assign(v, p)
            loose = tf.assign(v, p, validate_shape=False)
        with tf.Session() as sess:
            got = []
            with pytest.raises(tf.errors.FailedPreconditionError) as e:
                sess.run(add, {p: np.ones(4, np.float32)})
            got.append(e.value.message)
            sess.run(v.initializer)
            for op in (add, assign):
                with pytest.raises(tf.errors.InvalidArgumentError) as e:
                    sess.run(op, {p: np.ones(5, np.float32)})
                got.append(e.value.message)
            np.testing.assert_array_equal(sess.run(v), np.zeros(4, np.float32))  # unchanged
            np.testing.assert_array_equal(sess.run(loose, {p: np.arange(6, dtype=np.float32)}), np.arange(6))
            messages.append(got)
    assert messages[0] == messages[1]


def test_initialized_value_exact_on_gpu(fake_gpu):
    tf.set_random_seed(1234)
    w = tf.Variable(tf.random_normal([64, 33], stddev=0.35), name="weights")
    w2 = tf.Variable(w.initialized_value(), name="w2")
    w_twice = tf.Variable(w.initialized_value() * 2.0, name="w_twice")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b, c = sess.run([w, w2, w_twice])
        assert gpu_slot_types(sess, [w, w2, w_twice]) == {DeviceArray}
    assert a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(c, a * np.float32(2))


def test_const_uploaded_once_per_session(fake_gpu):
    c = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4), name="c")
    total = tf.reduce_sum(c * 2.0)
    gpu = backends.gpu(0)
    uploads = []
    for _ in range(2):
        with tf.Session() as sess:
            assert sess.run(total) == 132.0
            first = gpu._consts[sess][c.op]
            assert sess.run(total) == 132.0 and sess.run(c * 1.0)[2, 3] == 11.0  # other plans, same upload
            assert gpu._consts[sess][c.op] is first and isinstance(first, DeviceArray)
            uploads.append(first)
            again = sess.run(c)
            again[0, 0] = 99  # a fetched copy, not the cached upload
            assert sess.run(c)[0, 0] == 0
        assert sess not in gpu._consts  # close() freed the session's uploads
    assert uploads[0] is not uploads[1]


def test_host_only_ops_fall_back_visibly(fake_gpu):
    p = tf.placeholder(tf.float32, [2], name="p")
    tf.Variable(tf.zeros([2]), name="v")
    report = tf.report_uninitialized_variables()
    s = tf.constant(["a", "bc"])
    words = tf.Variable("text", name="words")  # a string variable keeps its value in host memory
    with tf.device("/cpu:0"):
        s_host = tf.identity(tf.constant(["a", "bc"]))
    with tf.Session() as sess:
        sess.run(words.initializer)
        assert sess.run(words) in (b"text", "text") and sess._variable_slot(words).backend.name == "cupy"
        with pytest.raises(tf.errors.InvalidArgumentError, match="You must feed a value for placeholder"):
            sess.run(p * 2.0)
        assert sess.host_fallbacks.get("Placeholder") == 1
        assert list(sess.run(report)) == [b"v"]  # words is initialized
        assert list(sess.run(s)) == list(sess.run(s_host))  # a string Const stays in host memory
        np.testing.assert_array_equal(sess.run(p * 2.0, {p: [1.0, 2.0]}), [2.0, 4.0])
    assert "ReportUninitializedVariables" not in backends.gpu(0).kernels
    assert "Placeholder" not in backends.gpu(0).kernels


def test_placement_default_cpu_and_env(fake_gpu, monkeypatch):
    v = tf.Variable(tf.ones([3]), name="v")
    with tf.device("/cpu:0"):
        h = tf.Variable(tf.ones([3]), name="h")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess._variable_slot(v).backend.device == "/device:GPU:0"
        assert sess._variable_slot(h).backend.device == "/device:CPU:0"
        assert [d.device_type for d in sess.list_devices()] == ["CPU", "GPU"]
    monkeypatch.setenv("GRAPHVAR_BACKEND", "numpy")
    monkeypatch.setattr(backends, "_cuda", None)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess._variable_slot(v).backend.name == "numpy"


def test_multi_gpu_by_index(monkeypatch, kernel_dll):
    fake = install_fake_cupy(monkeypatch, kernel_dll, device_count=2)
    made = {}
    for dev in ("/gpu:0", "/gpu:1", "/gpu:2", "/cpu:0"):
        with tf.device(dev):
            made[dev] = tf.Variable(tf.random_uniform([300], seed=9), name="v" + dev[-1] + dev[1])
            made[dev + "+"] = made[dev].assign_add(tf.ones([300]))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = {dev: sess.run(made[dev + "+"]) for dev in ("/gpu:0", "/gpu:1", "/gpu:2", "/cpu:0")}
        devices = {dev: sess._variable_slot(made[dev]).backend.device for dev in values}
        assert sess._variable_slot(made["/gpu:1"]).value.device_id == 1
    assert devices == {"/gpu:0": "/device:GPU:0", "/gpu:1": "/device:GPU:1", "/gpu:2": "/device:CPU:0",
                       "/cpu:0": "/device:CPU:0"}  # fmt: skip
    assert all(v.tobytes() == values["/cpu:0"].tobytes() for v in values.values())
    assert backends.gpu(0) is not backends.gpu(1) and fake.device_count == 2


def test_random_kernel_args_marshalling(fake_gpu):
    from graphvar.backends import cupy_backend as cb

    key = gr.philox_key(2**64 - 3, 0xDEADBEEF12345678)
    name, args = cb.random_kernel_args("RandomUniform", np.float16, {"minval": 0.1, "maxval": 0.7}, key, 7, 100)
    assert name == "uniform_f16"
    assert [type(a) for a in args] == [np.int64, np.int64, np.uint64, np.uint64, np.uint64, np.float32, np.float32]
    assert [int(a) for a in args[:5]] == [100, 0, 2**64 - 3, 0xDEADBEEF12345678, 7]
    assert args[5] == np.float32(np.float16(0.1)) and args[6] == np.float32(np.float16(0.7))
    name, args = cb.random_kernel_args(
        "RandomUniformInt", np.int64, {"minval": -(2**63), "maxval": 2**63 - 1}, key, 0, 1
    )
    assert name == "uniform_i64" and type(args[5]) is np.int64 and args[6] == np.uint64(2**64 - 1)
    name, args = cb.random_kernel_args("TruncatedNormal", np.float64, {"mean": 0.5, "stddev": 3.0}, key, 2**64 - 1, 9)
    assert name == "truncated_normal_f64" and args[4] == np.uint64(2**64 - 1) and type(args[6]) is np.float64


@pytest.mark.parametrize("op_type,dtype,attrs", [
    ("RandomUniformInt", np.int16, {"minval": 0, "maxval": 5}), ("RandomStandardNormal", np.int32, {}),
    ("RandomUniform", np.bool_, {"minval": 0, "maxval": 1}), ("RandomUniformInt", np.int32, {"minval": 5, "maxval": 5}),
])  # fmt: skip
def test_random_errors_match_host(fake_gpu, op_type, dtype, attrs):
    from graphvar.backends import cupy_backend as cb

    fill = gr.fill_normal if op_type == "RandomStandardNormal" else gr.fill_uniform
    with pytest.raises(tf.errors.InvalidArgumentError) as host:
        fill(np.empty(3, dtype), 1, 0, *attrs.values())
    with pytest.raises(tf.errors.InvalidArgumentError) as gpu:
        cb.random_kernel_args(op_type, dtype, attrs, 1, 0, 3)
    assert gpu.value.message == host.value.message


def test_launch_shape():
    from graphvar.backends.launch import launch_shape, resident_blocks

    assert launch_shape("uniform", "f32", 1, 132, 5) == ((1,), (256,))
    assert launch_shape("uniform", "f32", 8 * 256 + 1, 132, 5) == ((2,), (256,))
    assert launch_shape("truncated_normal", "f64", 2 * 256 * 3, 132, 5) == ((3,), (256,))
    assert launch_shape("normal", "f32", 2**34, 132, 5) == ((5 * 132,), (256,))  # grid-stride beyond
    assert launch_shape("assign_add", "f16", 2**40, 2, 8) == ((16,), (256,))
    assert launch_shape("fill", "f32", 4 * 256 * 3, 132, 8) == ((3,), (256,))  # 4 floats (16 bytes) a thread
    assert launch_shape("fill", "f64", 2 * 256 * 3 + 1, 132, 8) == ((4,), (256,))
    assert launch_shape("apply_adam", "f32", 10**9, 10) == ((80,), (256,))  # unknown kind: 1 a thread, 8/SM
    # ptxas's register counts (ci/kernel_resources.py) -> blocks per SM: 2048 threads and 64K registers
    assert [resident_blocks(r) for r in (12, 32, 36, 40, 44, 64, 128, 255)] == [8, 8, 6, 6, 5, 4, 2, 1]
    assert resident_blocks(32, blocks_per_sm=6) == 6 and resident_blocks(32, threads_per_sm=1536) == 6


def test_grid_follows_the_kernels_register_count(fake_gpu):
    big = [4 * 256 * 100]  # enough elements for 100 blocks of uniform_f32 (8 a thread) or fill_f32 (4)
    fake_gpu.num_regs.update(uniform_f32=44, fill_f32=24)
    with tf.device("/gpu:0"):
        u = tf.Variable(tf.random_uniform([2 * big[0]], seed=1))
        z = tf.Variable(tf.fill(big, 3.0))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_u, got_z = sess.run([u, z])
    assert (got_z == 3.0).all() and 0.0 <= got_u.min() and got_u.max() < 1.0  # every element written
    grids = {entry[1]: entry[2] for entry in fake_gpu.log if entry[0] == "launch"}
    assert grids == {"uniform_f32": 5 * 2, "fill_f32": 8 * 2}  # 44 registers: 5 blocks per SM; 24: 8; 2 SMs
