"""graphvar.random: the Philox stream layout, determinism across chunking/threads, statistics."""

from __future__ import annotations

import numpy as np
import pytest

import graphvar.random as gr
from graphvar.errors import InvalidArgumentError

KEY = gr.philox_key(1234, 5678)
FLOATS = [np.float16, np.float32, np.float64]


def test_philox_key_layout():
    assert gr.philox_key(1, 2) == 1 | 2 << 64
    assert gr.philox_key(-1, 0) == 2**64 - 1


@pytest.mark.parametrize("run", [0, 1, 2**40])
def test_reference_matches_numpy_philox(run):
    words = np.random.Philox(key=KEY, counter=[0, run, 0, 0]).random_raw(12)
    for j in range(3):
        assert gr.philox4x64_10((j + 1, run, 0, 0), KEY) == tuple(int(w) for w in words[4 * j : 4 * j + 4])
    idx = np.array([11, 0, 5, 7])
    assert np.array_equal(gr._words_at(idx, KEY, run, 0), words[idx])
    assert np.array_equal(gr._raw_words(KEY, run, 0, 4, 8), words[4:])


def test_uniform_f32_f64_int_layout():
    words = np.random.Philox(key=KEY, counter=[0, 3, 0, 0]).random_raw(40)
    f32 = np.empty(80, np.float32)
    gr.fill_uniform(f32, KEY, 3)
    assert np.array_equal(f32, (words.view(np.uint32) >> 8).astype(np.float32) * np.float32(2**-24))
    f64 = np.empty(40, np.float64)
    gr.fill_uniform(f64, KEY, 3)
    assert np.array_equal(f64, (words >> 11).astype(np.float64) * 2**-53)
    i64 = np.empty(40, np.int64)
    gr.fill_uniform(i64, KEY, 3, -7, 100)
    assert i64.tolist() == [-7 + int(w) % 107 for w in words]


@pytest.mark.parametrize("fill", [gr.fill_uniform, gr.fill_normal, gr.fill_truncated_normal])
@pytest.mark.parametrize("dtype", FLOATS)
def test_independent_of_chunk_threads_and_base(fill, dtype):
    n = 20011
    want = np.empty(n, dtype)
    fill(want, KEY, 5)
    for chunk, threads in [(8, 1), (8 * 125, 3), (1 << 20, 2), (4096, 7)]:
        got = np.empty(n, dtype)
        fill(got, KEY, 5, chunk=chunk, threads=threads)
        assert got.tobytes() == want.tobytes(), (chunk, threads)
    for base in (1, 13, 4096 + 3):
        got = np.empty(n - base, dtype)
        fill(got, KEY, 5, base=base, chunk=1024)
        assert got.tobytes() == want[base:].tobytes(), base


@pytest.mark.parametrize("fill", [gr.fill_uniform, gr.fill_normal, gr.fill_truncated_normal])
def test_run_and_key_change_values_and_prefixes_agree(fill):
    a, b, c = (np.empty(1000, np.float32) for _ in range(3))
    fill(a, KEY, 0)
    fill(b, KEY, 1)
    fill(c, gr.philox_key(1234, 5679), 0)
    assert not np.any(a == b) or np.mean(a == b) < 0.01
    assert np.mean(a == c) < 0.01
    short = np.empty(37, np.float32)
    fill(short, KEY, 0)
    assert short.tobytes() == a[:37].tobytes()  # element i depends on (key, run, i) only
    shaped = np.empty((10, 100), np.float32)
    fill(shaped, KEY, 0)
    assert shaped.reshape(-1).tobytes() == a.tobytes()


@pytest.mark.parametrize("dtype", FLOATS)
def test_statistics(dtype):
    n = 400_000
    x = np.empty(n, dtype)
    gr.fill_uniform(x, KEY, 0, -2.0, 6.0)
    x64 = x.astype(np.float64)
    assert -2.0 <= x64.min() and x64.max() < 6.0
    assert abs(x64.mean() - 2.0) < 0.03 and abs(x64.std() - 8 / 12**0.5) < 0.03
    gr.fill_normal(x, KEY, 0, mean=1.0, stddev=3.0)
    x64 = x.astype(np.float64)
    assert abs(x64.mean() - 1.0) < 0.03 and abs(x64.std() - 3.0) < 0.03
    gr.fill_truncated_normal(x, KEY, 0, mean=-1.0, stddev=0.5)
    x64 = x.astype(np.float64)
    assert np.all(np.abs(x64 + 1.0) <= 1.0 + 1e-3)
    assert abs(x64.mean() + 1.0) < 0.01 and abs(x64.std() - 0.5 * 0.87962566) < 0.01


@pytest.mark.parametrize("dtype,lo,hi", [(np.int32, -5, 5), (np.int32, -(2**31), 2**31 - 1), (np.int64, 0, 2**62)])
def test_uniform_ints(dtype, lo, hi):
    x = np.empty(100_000, dtype)
    gr.fill_uniform(x, KEY, 9, lo, hi)
    assert x.min() >= lo and x.max() < hi
    if hi - lo == 10:
        assert set(np.unique(x)) == set(range(lo, hi))


def test_truncated_redraw_path_forced():
    # bound 0.05 rejects ~96% of candidates: most elements need several attempts (counter word 2)
    params = (0.0, 1.0, 0.05)
    want = np.empty(3001, np.float32)
    gr._fill_truncated(want, KEY, 2, params, gr._opts(0, gr.CHUNK, None))
    assert np.all(np.abs(want) <= 0.05)
    for chunk, threads, base in [(8, 1, 0), (64, 3, 0), (1024, 2, 7)]:
        got = np.empty(3001 - base, np.float32)
        gr._fill_truncated(got, KEY, 2, params, gr._opts(base, chunk, threads))
        assert got.tobytes() == want[base:].tobytes()
    # element 0 by hand: the first attempt whose cos or sin candidate is in bound
    for attempt in range(200):
        w = int(np.random.Philox(key=KEY, counter=[0, 2, attempt, 0]).random_raw(1)[0])
        u, v = np.float32((w & 0xFFFFFFFF) >> 8) * np.float32(2**-24), np.float32(w >> 40) * np.float32(2**-24)
        r = np.sqrt(np.log(np.float32(1) - u) * np.float32(-2))
        th = v * np.float32(2 * np.pi)
        cands = [r * np.cos(th), r * np.sin(th)]
        hit = [z for z in cands if abs(z) <= 0.05]
        if hit:
            assert want[0] == hit[0]
            break
    else:
        pytest.fail("no candidate in 200 attempts")


def test_errors():
    with pytest.raises(InvalidArgumentError):
        gr.fill_uniform(np.empty(3, np.int32), KEY, 0)
    with pytest.raises(InvalidArgumentError):
        gr.fill_uniform(np.empty(3, np.int32), KEY, 0, 5, 5)
    with pytest.raises(InvalidArgumentError):
        gr.fill_normal(np.empty(3, np.int32), KEY, 0)
    with pytest.raises(InvalidArgumentError):
        gr.fill_normal(np.empty((4, 4), np.float32)[:, ::2], KEY, 0)
    empty = np.empty(0, np.float32)
    gr.fill_truncated_normal(empty, KEY, 0)
