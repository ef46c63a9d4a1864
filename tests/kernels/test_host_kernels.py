"""The CUDA sources, built for the host via kernels/host_shim.h, against graphvar.random."""

from __future__ import annotations

import numpy as np
import pytest
from host_kernels import NP, launch

import graphvar.random as gr
from tests.ulp import ULP_BOUNDS, ulp_distance

KEY = gr.philox_key(87654321, 1234)
KEY_ARGS = (KEY & (2**64 - 1), KEY >> 64)
GRIDS = [(1, 1), (3, 7), (13, 64), (40, 256)]
SIZES = [0, 1, 7, 8, 9, 1000, 4099]
BIG_BASE = 2**32 + 5  # element offsets past 32-bit indexing, without allocating them
# Stated ULP bound of standard normals, kernels vs graphvar.random (docs/random.md). Measured on
# 2.4M values: f16 1, f32 5 (glibc logf/cosf vs NumPy's SIMD float32 log/cos), f64 0.
ULP_BOUND = {
    "f16": ULP_BOUNDS[np.dtype(np.float16)],
    "f32": ULP_BOUNDS[np.dtype(np.float32)],
    "f64": ULP_BOUNDS[np.dtype(np.float64)],
}


def host(kind: str, t: str, n: int, base: int, run: int, p0, p1) -> np.ndarray:
    out = np.empty(n, NP[t])
    if kind == "uniform":
        kwargs = {"minval": p0, "maxval": p1}
        gr.fill_uniform(out, KEY, run, base=base, **kwargs)
    elif kind == "normal":
        gr.fill_normal(out, KEY, run, p0, p1, base=base)
    else:
        gr.fill_truncated_normal(out, KEY, run, p0, p1, base=base)
    return out


def guarded(n: int, t: str, aligned: bool) -> tuple[np.ndarray, np.ndarray]:
    """(whole buffer, the n-element window the kernel gets): 16-byte aligned (the kernels' vector
    stores) or one element off (their scalar path), with guard elements of 77 on both sides."""
    g = 16 // np.dtype(NP[t]).itemsize
    whole = np.full(n + 2 * g, 77, NP[t])
    assert whole.ctypes.data % 16 == 0
    start = g if aligned else 1
    return whole, whole[start : start + n]


def check_guards(whole: np.ndarray, window: np.ndarray) -> None:
    start = (window.ctypes.data - whole.ctypes.data) // whole.itemsize
    assert (whole[:start] == 77).all() and (whole[start + window.size :] == 77).all(), "wrote outside [0, n)"


def device(dll, kind: str, t: str, n: int, base: int, run: int, p0, p1, grid=(13, 64), aligned=False) -> np.ndarray:
    whole, window = guarded(n, t, aligned)
    args = (window, n, base, *KEY_ARGS, run)
    if t in ("i32", "i64"):
        args += (p0, p1 - p0)
    elif t == "f16":
        args += (float(np.float16(p0)), float(np.float16(p1)))
    else:
        args += (p0, p1)
    launch(dll, f"{kind}_{t}", *grid, *args)
    check_guards(whole, window)
    return window


UNIFORM_CASES = [("f16", 0.0, 1.0), ("f32", 0.0, 1.0), ("f32", -3.5, 7.25), ("f64", -1.0, 2.0)]
UNIFORM_CASES += [("i32", -10, 1000), ("i32", -(2**31), 2**31 - 1), ("i64", -(2**63), 2**63 - 1), ("i64", 5, 6)]


@pytest.mark.parametrize("t,lo,hi", UNIFORM_CASES)
@pytest.mark.parametrize("grid", GRIDS)
def test_uniform_bit_identical(host_dll, t, lo, hi, grid):
    for n in SIZES:
        for base in (0, 3, BIG_BASE):
            want = host("uniform", t, n, base, 2, lo, hi)
            for aligned in (False, True):
                got = device(host_dll, "uniform", t, n, base, 2, lo, hi, grid, aligned)
                assert want.tobytes() == got.tobytes(), (t, n, base, aligned)


@pytest.mark.parametrize("kind", ["normal", "truncated_normal"])
@pytest.mark.parametrize("t", ["f16", "f32", "f64"])
def test_normal_within_ulp_bound(host_dll, kind, t):
    for n, base, grid in [
        (20011, 0, (40, 256)),
        (1001, 5, (3, 7)),
        (999, BIG_BASE, (1, 1)),
        (1, 1, (2, 2)),
        (0, 0, (1, 1)),
    ]:
        want = host(kind, t, n, base, 1, 0.0, 1.0)
        got = device(host_dll, kind, t, n, base, 1, 0.0, 1.0, grid)
        assert ulp_distance(want, got) <= ULP_BOUND[t], (kind, t, n, base)
        vectorized = device(host_dll, kind, t, n, base, 1, 0.0, 1.0, grid, aligned=True)
        assert vectorized.tobytes() == got.tobytes(), (kind, t, n, base)  # the store width changes nothing
    # mean/stddev: an error of k ULP in z becomes k * ulp(z) * stddev, plus one rounding
    want = host(kind, t, 5003, 11, 4, 0.5, 2.0).astype(np.float64)
    got = device(host_dll, kind, t, 5003, 11, 4, 0.5, 2.0).astype(np.float64)
    eps = float(np.finfo(NP[t]).eps)
    np.testing.assert_allclose(got, want, rtol=0, atol=2.0 * 6.0 * eps * (ULP_BOUND[t] + 2))


def test_truncated_redraw_path_matches(host_dll):
    # about 0.2% of float32 elements need attempt >= 1; 20000 elements exercise it many times
    n = 20000
    want = host("truncated_normal", "f32", n, 0, 0, 0.0, 1.0)
    words = np.random.Philox(key=KEY, counter=[0, 0, 0, 0]).random_raw(n)
    halves = words.view(np.uint32).astype(np.float64)
    u, v = np.floor(halves[0::2] / 256) / 2**24, np.floor(halves[1::2] / 256) / 2**24
    r = np.sqrt(-2 * np.log1p(-u))
    redrawn = (np.abs(r * np.cos(2 * np.pi * v)) > 2) & (np.abs(r * np.sin(2 * np.pi * v)) > 2)
    assert redrawn.sum() > 10
    got = device(host_dll, "truncated_normal", "f32", n, 0, 0, 0.0, 1.0)
    assert ulp_distance(want[redrawn], got[redrawn]) <= ULP_BOUND["f32"]


@pytest.mark.parametrize("t", ["f16", "f32", "f64", "i32", "i64"])
@pytest.mark.parametrize("aligned", [True, False], ids=["aligned", "unaligned"])
def test_fill_and_assign_ops(host_dll, t, aligned):
    rng = np.random.default_rng(0)
    for n, grid in [(0, (1, 1)), (1, (2, 3)), (7, (1, 2)), (1027, (5, 32)), (4096, (64, 256))]:
        if t.startswith("i"):
            info = np.iinfo(NP[t])
            a, b = (rng.integers(info.min, info.max, n, dtype=NP[t], endpoint=True) for _ in range(2))
        else:
            a, b = ((rng.standard_normal(n) * 1e3).astype(NP[t]) for _ in range(2))
        whole, out = guarded(n, t, aligned)
        value = NP[t](3)
        launch(host_dll, f"fill_{t}", *grid, out, n, int(value.view(np.uint16)) if t == "f16" else value.item())
        assert np.all(out == value)
        check_guards(whole, out)
        src_whole, src = guarded(n, t, aligned)
        src[...] = a
        launch(host_dll, f"assign_{t}", *grid, out, src, n)
        assert out.tobytes() == a.tobytes()
        check_guards(whole, out)
        with np.errstate(over="ignore"):
            for op, ref in (("add", a + b), ("sub", a - b)):
                dst_whole, dst = guarded(n, t, aligned)
                dst[...] = a
                src[...] = b
                launch(host_dll, f"assign_{op}_{t}", *grid, dst, src, n)
                assert dst.tobytes() == ref.tobytes(), (op, t, n)
                check_guards(dst_whole, dst)
                check_guards(src_whole, src)
        if aligned and n:  # dst aligned, src one element off: the scalar path
            src_whole, src = guarded(n, t, False)
            src[...] = b
            dst = a.copy()
            launch(host_dll, f"assign_add_{t}", *grid, dst, src, n)
            with np.errstate(over="ignore"):
                assert dst.tobytes() == (a + b).tobytes()


def test_f16_rounding_matches_numpy(host_dll):
    # every float32 pattern class: subnormal halves, ties, overflow to inf, NaN-free
    rng = np.random.default_rng(1)
    with np.errstate(over="ignore"):
        x = np.concatenate(
            [
                rng.standard_normal(5000).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, 5000),
                np.float32([65504, 65519.99, 65520, 2.0**-25, 2.0**-24 * 1.5, 2.0**-14, 0.0, -0.0, np.inf, -np.inf]),
            ]
        ).astype(np.float32)
        a = x.astype(np.float16)  # overflow to inf is one of the cases
    zero = np.zeros_like(a)
    dst = a.copy()
    launch(host_dll, "assign_add_f16", 4, 64, dst, zero, a.size)  # round-trips through float32
    assert dst.tobytes() == (a + zero).tobytes()  # (-0 + 0 is +0 on both sides)
