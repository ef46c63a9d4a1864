"""The Philox random stream shared by every backend (spec: ``docs/random.md``).

The stream for a (key, run) pair is NumPy's ``np.random.Philox(key=key, counter=[0, run, 0, 0])``:
word ``k`` is word ``k % 4`` of philox4x64_10(counter=(k // 4 + 1, run, 0, 0), key). Element ``i``
of an output reads words fixed by (key, run, i) alone, so the host (chunked, multi-threaded) and
the CUDA kernels in ``kernels/init.cu`` produce the same numbers at any chunk, thread or grid size.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from graphvar.errors import InvalidArgumentError

__all__ = [
    "philox_key",
    "philox4x64_10",
    "fill_uniform",
    "fill_normal",
    "fill_truncated_normal",
]

_M64 = (1 << 64) - 1
_MUL = (0xD2E7470EE14C6C93, 0xCA5A826395121157)
_WEYL = (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)
CHUNK = 1 << 19  # elements per task; a multiple of 8 so every layout starts on a block boundary
MIN_SPLIT = 1 << 15  # below this many elements per thread, threading costs more than it saves
_ATTEMPTS_AT_ONCE = 3  # truncated redraws: an element needs a 4th attempt with p ~ 1e-8
_CPUS = os.cpu_count() or 1  # read once: os.cpu_count() costs ~20 us per call on some machines
_TRUNC_BOUND = 2.0
_SMALL_SCRATCH = 4096  # elements
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_local = threading.local()


def philox_key(seed1: int, seed2: int) -> int:
    """The 128-bit Philox key of TF1 op seeds: ``seed1 mod 2**64`` low, ``seed2 mod 2**64`` high.

    Example:
      >>> hex(philox_key(1, 2))
      '0x20000000000000001'
    """
    return (int(seed1) & _M64) | ((int(seed2) & _M64) << 64)


def philox4x64_10(counter: tuple[int, int, int, int], key: int) -> tuple[int, int, int, int]:
    """Pure-Python Philox4x64-10 of one 256-bit counter and a 128-bit key (the test reference)."""
    x = [int(c) & _M64 for c in counter]
    k0, k1 = key & _M64, (key >> 64) & _M64
    for rnd in range(10):
        if rnd:
            k0, k1 = (k0 + _WEYL[0]) & _M64, (k1 + _WEYL[1]) & _M64
        p0, p1 = _MUL[0] * x[0], _MUL[1] * x[2]
        x = [(p1 >> 64) ^ x[1] ^ k0, p1 & _M64, (p0 >> 64) ^ x[3] ^ k1, p0 & _M64]
    return x[0], x[1], x[2], x[3]


def _mulhilo(a: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(high, low) 64-bit halves of a * m, elementwise, from 32-bit partial products."""
    lo32, s32 = np.uint64(0xFFFFFFFF), np.uint64(32)
    a0, a1 = a & lo32, a >> s32
    m0, m1 = m & lo32, m >> s32
    p00, p01, p10, p11 = a0 * m0, a0 * m1, a1 * m0, a1 * m1
    mid = (p00 >> s32) + (p01 & lo32) + (p10 & lo32)
    return p11 + (p01 >> s32) + (p10 >> s32) + (mid >> s32), a * m


def _words_at(word_idx: np.ndarray, key: int, run: int, attempt: Any) -> np.ndarray:
    """Stream words at arbitrary indices (vectorized Philox; for the rare truncated redraws).
    ``attempt`` is one int or an array with one attempt per word.

    The counter words are kept as two (2, n) arrays, a = (x0, x2) and b = (x1, x3), so each round
    is one multiply-high over both lanes: its cost is mostly per NumPy call, not per element.
    """
    word_idx = np.asarray(word_idx, dtype=np.uint64)
    n = word_idx.size
    a = np.stack([word_idx // np.uint64(4) + np.uint64(1), np.broadcast_to(np.asarray(attempt, np.uint64), (n,))])
    b = np.stack([np.full(n, run & _M64, dtype=np.uint64), np.zeros(n, dtype=np.uint64)])
    mul = np.array([[_MUL[0]], [_MUL[1]]], dtype=np.uint64)
    k0, k1 = key & _M64, (key >> 64) & _M64
    with np.errstate(over="ignore"):
        for rnd in range(10):
            if rnd:
                k0, k1 = (k0 + _WEYL[0]) & _M64, (k1 + _WEYL[1]) & _M64
            hi, lo = _mulhilo(a, mul)
            a = hi[::-1] ^ b ^ np.array([[k0], [k1]], dtype=np.uint64)
            b = lo[::-1]
    words = np.stack([a[0], b[0], a[1], b[1]])
    return words[(word_idx % np.uint64(4)).astype(np.intp), np.arange(n)]


def _raw_words(key: int, run: int, attempt: int, first_word: int, count: int) -> np.ndarray:
    """``count`` consecutive stream words from ``first_word`` (a multiple of 4) via NumPy's Philox.

    Each thread keeps one generator and sets its whole state (key, counter = (first_word / 4,
    run, attempt, 0), empty buffer) for every call: what ``Philox(key=key)`` followed by
    ``advance`` gives, without building a generator per key (a constructor draws OS entropy
    for a SeedSequence: ~20 us, most of a small variable's initialization).
    """
    bitgen = getattr(_local, "bitgen", None)
    if bitgen is None:
        bitgen = _local.bitgen = np.random.Philox(key=0)
        _local.state = bitgen.state  # a template: bit_generator, buffer, has_uint32, uinteger
    state = _local.state
    state["state"] = {
        "counter": [first_word // 4, run & _M64, attempt & _M64, 0],
        "key": [key & _M64, key >> 64 & _M64],
    }
    state["buffer_pos"] = 4  # nothing buffered: the first block is at counter + 1, as after advance()
    bitgen.state = state
    return bitgen.random_raw(count)


# ----------------------------------------------------------------------------- transforms


def _scratch(slot: str, n: int, dtype: type) -> np.ndarray:
    """A per-thread reusable buffer: fresh multi-MB temporaries cost page faults on every chunk
    (a small one is cheaper fresh than looked up: a small variable's fill takes five)."""
    if n <= _SMALL_SCRATCH:
        return np.empty(n, dtype)
    pool = getattr(_local, "scratch", None)
    if pool is None:
        pool = _local.scratch = {}
    nbytes = n * np.dtype(dtype).itemsize
    buf = pool.get(slot)
    if buf is None or buf.size < nbytes:
        buf = pool[slot] = np.empty(max(nbytes, 1 << 16), np.uint8)
    return buf[:nbytes].view(dtype)


def _unit_f32(bits32: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = (bits32 >> 8) * 2**-24 as float32, exactly."""
    k = np.right_shift(bits32, np.uint32(8), out=_scratch("k", bits32.size, np.uint32))
    # int32 -> float32 converts in SIMD (uint32 does not); the values fit in 24 bits
    return np.multiply(k.view(np.int32), np.float32(2.0**-24), out=out, dtype=np.float32, casting="unsafe")


def _unit_f64(words: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = (w >> 11) * 2**-53 as float64, exactly."""
    k = np.right_shift(words, np.uint64(11), out=_scratch("k", words.size, np.uint64))
    return np.multiply(k.view(np.int64), 2.0**-53, out=out, dtype=np.float64, casting="unsafe")


def _polar(words: np.ndarray, ftype: type) -> tuple[np.ndarray, np.ndarray]:
    """Box-Muller (R, theta) = (sqrt(-2 log(1 - u)), 2*pi*v) of consecutive pairs, in ``ftype``.

    float32 pairs take (u, v) from a word's (low, high) 32-bit halves; float64 pairs from two
    consecutive words. One IEEE rounding per step, as in the kernels (docs/random.md).
    """
    if ftype is np.float32:
        halves = words.view(np.uint32)
        units = _unit_f32(halves, _scratch("units", halves.size, np.float32))
    else:
        units = _unit_f64(words, _scratch("units", words.size, np.float64))
    u, v = units[0::2], units[1::2]
    r = np.subtract(ftype(1.0), u, out=_scratch("r", u.size, ftype))
    np.log(r, out=r)
    np.multiply(r, ftype(-2.0), out=r)
    np.sqrt(r, out=r)
    theta = np.multiply(v, ftype(2.0 * np.pi), out=_scratch("theta", v.size, ftype))
    return r, theta


def _affine(buf: np.ndarray, scale, shift) -> None:
    """buf = buf * scale + shift in buf's dtype (two roundings, as the kernels do)."""
    ft = buf.dtype.type
    if scale != 1.0:
        np.multiply(buf, ft(scale), out=buf)
    if shift != 0.0:
        np.add(buf, ft(shift), out=buf)


def _work_buffer(dst: np.ndarray) -> np.ndarray:
    """dst itself, or a float32 scratch for float16 outputs (computed in float32, rounded once)."""
    return dst if dst.dtype != np.float16 else _scratch("f16", dst.size, np.float32)


def _finish(dst: np.ndarray, buf: np.ndarray) -> None:
    if buf is not dst:
        np.copyto(dst, buf, casting="unsafe")


def _uniform_chunk(dst: np.ndarray, words: np.ndarray, lo, hi) -> None:
    if dst.dtype.kind == "i":
        words = words[: dst.size]
        r = np.remainder(words, np.uint64(hi - lo), out=words)
        np.add(r, np.uint64(lo & _M64), out=r)
        np.copyto(dst, r.view(np.int64), casting="unsafe")
        return
    buf = _work_buffer(dst)
    if dst.dtype == np.float64:
        _unit_f64(words[: dst.size], buf)
    elif dst.dtype == np.float32:
        _unit_f32(words.view(np.uint32)[: dst.size], buf)
    else:  # float16: 11 bits, so [0, 1) stays below 1 after rounding to half
        k = np.right_shift(words.view(np.uint32)[: dst.size], np.uint32(21), out=_scratch("k", dst.size, np.uint32))
        np.multiply(k.view(np.int32), np.float32(2.0**-11), out=buf, casting="unsafe")
    if lo != 0.0 or hi != 1.0:
        _affine(buf, hi - lo, lo)
    _finish(dst, buf)


def _normal_chunk(dst: np.ndarray, words: np.ndarray, mean: float, stddev: float) -> None:
    buf = _work_buffer(dst)
    r, theta = _polar(words, buf.dtype.type)
    n_odd = buf.size // 2
    trig = np.cos(theta, out=_scratch("trig", theta.size, buf.dtype.type))
    np.multiply(r, trig, out=buf[0::2])
    np.sin(theta[:n_odd], out=trig[:n_odd])
    np.multiply(r[:n_odd], trig[:n_odd], out=buf[1::2])
    _affine(buf, stddev, mean)
    _finish(dst, buf)


def _truncated_candidates(words: np.ndarray, z: np.ndarray, bound: float) -> np.ndarray:
    """z = first in-bound candidate (cos, then sin) of each element; returns the indices with none."""
    r, theta = _polar(words, z.dtype.type)
    np.cos(theta, out=z)
    np.multiply(z, r, out=z)
    mag = np.abs(z, out=_scratch("trig", z.size, z.dtype.type))
    miss = np.flatnonzero(np.greater(mag, bound, out=_scratch("mask", z.size, np.bool_)))
    if miss.size:
        second = np.sin(theta[miss]) * r[miss]
        z[miss] = second
        miss = miss[np.abs(second) > bound]
    return miss


def _truncated_chunk(dst: np.ndarray, words: np.ndarray, start: int, mean, stddev, bound) -> np.ndarray:
    """Fills dst from attempt 0; returns the flat indices still to redraw (about 0.2% of them)."""
    buf = _work_buffer(dst)
    miss = _truncated_candidates(words[: dst.size * (2 if dst.dtype == np.float64 else 1)], buf, bound)
    _affine(buf, stddev, mean)
    _finish(dst, buf)
    return miss + start


def _truncated_redraws(flat: np.ndarray, base: int, todo: np.ndarray, key: int, run: int, params) -> None:
    """Redraws elements ``todo`` from attempts 1, 2, ... (counter word 2) until all are in bound.

    Attempts are computed ``_ATTEMPTS_AT_ONCE`` at a time in one vectorized Philox call (its cost is
    mostly fixed per call); each element takes its first in-bound attempt, as the kernels do.
    """
    mean, stddev, bound = params
    ftype = np.float64 if flat.dtype == np.float64 else np.float32
    per = 2 if ftype is np.float64 else 1
    first = 1
    while todo.size:
        attempts = np.arange(first, first + _ATTEMPTS_AT_ONCE, dtype=np.uint64)
        idx = (todo[:, None] * per + np.arange(per)).reshape(-1)  # words of each element, in order
        words = _words_at(np.tile(idx, attempts.size), key, run, np.repeat(attempts, idx.size))
        z = np.empty(attempts.size * todo.size, ftype)
        miss = np.zeros(z.size, dtype=bool)
        miss[_truncated_candidates(words, z, bound)] = True
        z, miss = z.reshape(attempts.size, todo.size), miss.reshape(attempts.size, todo.size)
        found = ~miss.all(axis=0)
        pick = np.argmin(miss, axis=0)  # the first attempt that is in bound
        value = z[pick, np.arange(todo.size)][found]
        _affine(value, stddev, mean)
        flat[todo[found] - base] = value
        todo, first = todo[~found], first + _ATTEMPTS_AT_ONCE


# ----------------------------------------------------------------------------- driver


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_CPUS, thread_name_prefix="graphvar-random")
        return _pool


def _run_chunks(out: np.ndarray, stream: tuple[int, int], words_per_8: int, work: Callable, opts: dict) -> list:
    """Calls ``work(dst, words, first)`` over chunks of ``out`` (element ``base + j`` at flat ``j``).

    Chunks split at multiples of ``chunk`` (a multiple of 8, so a chunk starts on a Philox block);
    a first chunk that starts mid-block is computed from the block start in a chunk-sized
    temporary. ``words_per_8``: stream words per 8 elements. Returns work's results in order.
    """
    flat, base, chunk = out.reshape(-1), opts["base"], opts["chunk"]
    if chunk <= 0 or chunk % 8:
        raise ValueError(f"chunk must be a positive multiple of 8, got {chunk}")
    threads = opts["threads"] or _CPUS
    if chunk == CHUNK and threads > 1 and flat.size < CHUNK * threads:
        # a small output still uses every core: split it evenly (never below MIN_SPLIT elements)
        chunk = max(MIN_SPLIT, (-(-flat.size // threads) + 7) // 8 * 8)

    def task(start: int):
        stop = min((start // chunk + 1) * chunk, base + flat.size)
        first = start - start % 8
        dst = flat[start - base : stop - base] if first == start else np.empty(stop - first, out.dtype)
        nwords = -(-(dst.size + dst.size % 2) * words_per_8 // 8)  # whole Box-Muller pairs
        result = work(dst, _raw_words(*stream, 0, first * words_per_8 // 8, nwords), first)
        if first != start:
            flat[: stop - start] = dst[start - first :]
            result = result[result >= start] if isinstance(result, np.ndarray) else result
        return result

    starts = [base] + list(range((base // chunk + 1) * chunk, base + flat.size, chunk)) if flat.size else []
    if threads == 1 or len(starts) <= 1:
        return [task(s) for s in starts]
    pool = _executor() if threads == (_CPUS) else ThreadPoolExecutor(threads)
    try:
        return [f.result() for f in [pool.submit(task, s) for s in starts]]
    finally:
        if pool is not _pool:
            pool.shutdown()


def _check_out(out: np.ndarray, kinds: str) -> None:
    if not isinstance(out, np.ndarray) or not out.flags.c_contiguous or not out.flags.writeable:
        raise InvalidArgumentError(None, None, "random fill needs a writeable C-contiguous numpy array")
    if out.dtype.kind not in kinds or out.dtype.itemsize not in (2, 4, 8) or out.dtype.kind == "u":
        raise InvalidArgumentError(None, None, f"random fill does not support dtype {out.dtype}")


def fill_uniform(
    out: np.ndarray,
    key: int,
    run: int,
    minval=0,
    maxval=None,
    *,
    base: int = 0,
    chunk: int = CHUNK,
    threads: int | None = None,
) -> None:
    """Fills ``out`` with uniform values in [minval, maxval) from stream (key, run), in place.

    Float dtypes default to [0, 1); integer dtypes (int32, int64) need ``maxval``.

    Raises:
      InvalidArgumentError: unsupported dtype, integer maxval missing or minval >= maxval.

    Example:
      >>> a = np.empty(4, np.float32); fill_uniform(a, philox_key(1, 2), run=0)
    """
    _check_out(out, "fi")
    if out.dtype.kind == "i":
        if out.dtype.itemsize == 2:
            raise InvalidArgumentError(None, None, "random fill does not support dtype int16")
        if maxval is None or int(minval) >= int(maxval):
            raise InvalidArgumentError(None, None, f"uniform ints need minval < maxval, got [{minval}, {maxval})")
        lo, hi, per8 = int(minval), int(maxval), 8
    else:
        ft = np.float32 if out.dtype == np.float16 else out.dtype.type
        lo, hi = ft(out.dtype.type(minval)), ft(out.dtype.type(1.0 if maxval is None else maxval))
        per8 = 8 if out.dtype == np.float64 else 4
    _run_chunks(out, (key, run), per8, lambda d, w, s: _uniform_chunk(d, w, lo, hi), _opts(base, chunk, threads))


def fill_normal(
    out: np.ndarray,
    key: int,
    run: int,
    mean=0.0,
    stddev=1.0,
    *,
    base: int = 0,
    chunk: int = CHUNK,
    threads: int | None = None,
) -> None:
    """Fills float ``out`` with normal(mean, stddev) values from stream (key, run), in place (Box-Muller).

    Example:
      >>> a = np.empty((2, 3), np.float32); fill_normal(a, philox_key(1, 2), run=0, stddev=0.1)
    """
    _check_out(out, "f")
    per8 = 8 if out.dtype == np.float64 else 4
    _run_chunks(
        out,
        (key, run),
        per8,
        lambda d, w, s: _normal_chunk(d, w, float(mean), float(stddev)),
        _opts(base, chunk, threads),
    )


def fill_truncated_normal(
    out: np.ndarray,
    key: int,
    run: int,
    mean=0.0,
    stddev=1.0,
    *,
    base: int = 0,
    chunk: int = CHUNK,
    threads: int | None = None,
) -> None:
    """Fills float ``out`` with TF's truncated normal: standard normals redrawn while |x| > 2, then
    ``x * stddev + mean``. Deterministic per element (redraws use counter word 2 = attempt).

    Example:
      >>> a = np.empty(5, np.float64); fill_truncated_normal(a, philox_key(1, 2), run=3)
    """
    _fill_truncated(out, key, run, (float(mean), float(stddev), _TRUNC_BOUND), _opts(base, chunk, threads))


def _opts(base: int, chunk: int, threads: int | None) -> dict:
    """Keyword options shared by the fills: ``out[j]`` is stream element ``base + j`` (as in the
    kernels' ``base``); ``chunk`` / ``threads`` tune the work split and never change the values."""
    if base < 0:
        raise InvalidArgumentError(None, None, f"random fill base must be >= 0, got {base}")
    return {"base": int(base), "chunk": int(chunk), "threads": threads}


def _fill_truncated(out: np.ndarray, key: int, run: int, params: tuple, opts: dict) -> None:
    """Truncated normal with ``params = (mean, stddev, bound)``; tests shrink ``bound`` to force redraws."""
    _check_out(out, "f")
    per8 = 16 if out.dtype == np.float64 else 8
    missing = _run_chunks(out, (key, run), per8, lambda d, w, s: _truncated_chunk(d, w, s, *params), opts)
    if missing:
        _truncated_redraws(out.reshape(-1), opts["base"], np.concatenate(missing), key, run, params)


# ----------------------------------------------------------------------------- tf.random namespace

_PUBLIC = {
    "categorical": ("graphvar.ops.sampling_ops", "categorical"),
    "multinomial": ("graphvar.ops.sampling_ops", "multinomial"),
    "shuffle": ("graphvar.ops.sampling_ops", "random_shuffle"),
    "normal": ("graphvar.ops.random_ops", "random_normal"),
    "uniform": ("graphvar.ops.random_ops", "random_uniform"),
    "truncated_normal": ("graphvar.ops.random_ops", "truncated_normal"),
    "set_random_seed": ("graphvar.framework.random_seed", "set_random_seed"),
    "log_uniform_candidate_sampler": ("graphvar.ops.sampling_ops", "log_uniform_candidate_sampler"),
    "uniform_candidate_sampler": ("graphvar.ops.sampling_ops", "uniform_candidate_sampler"),
}


def __getattr__(name: str) -> Any:
    """``tf.random.categorical`` and friends: this module is also TF1's ``tf.random`` namespace."""
    target = _PUBLIC.get(name)
    if target is None:
        raise AttributeError(f"module 'graphvar.random' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(target[0]), target[1])
