"""BundleWriter / BundleReader behaviour: dtypes, chunking, errors, atomicity."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from graphvar import errors
from graphvar.checkpoint import BundleReader, BundleWriter, cleanup_stale_temps, streaming

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "bool", "complex64", "complex128"]  # fmt: skip


def _value(dtype: str, shape=(3, 4)) -> np.ndarray:
    v = np.arange(int(np.prod(shape))).reshape(shape) % 7
    return (v % 2 == 0) if dtype == "bool" else (v * (1 + 1j) if "complex" in dtype else v).astype(dtype)


@pytest.fixture
def small_chunks(monkeypatch):
    """Exercises the multi-chunk pipeline (and the worker-thread CRC) with small tensors."""
    monkeypatch.setattr(streaming, "CHUNK_SIZE", 4096)
    monkeypatch.setattr(streaming, "_INLINE_CRC", 1024)


def test_round_trip_every_dtype_and_scalars(tmp_path):
    prefix = str(tmp_path / "m")
    values = {f"v_{d}": _value(d) for d in DTYPES}
    values.update({"scalar": np.float64(2.5), "empty": np.zeros((0, 3), np.int32), "scope/inner/w": _value("float32")})
    with BundleWriter(prefix) as w:
        for k, v in values.items():
            w.add(k, v)
        w.finish()
    with BundleReader(prefix) as r:
        assert r.keys() == sorted(values)
        for k, v in values.items():
            got = r.get_tensor(k)
            assert got.dtype == np.asarray(v).dtype and got.shape == np.shape(v)
            np.testing.assert_array_equal(got, v)


def test_multi_chunk_non_contiguous_and_big_endian(tmp_path, small_chunks):
    big = np.random.default_rng(0).standard_normal((300, 50)).astype(np.float32)
    values = {"big": big, "strided": big[:, ::3], "fortran": np.asfortranarray(big), "be": big.astype(">f4")}
    with BundleWriter(str(tmp_path / "m")) as w:
        for k, v in values.items():
            w.add(k, v)
        w.finish()
    with BundleReader(str(tmp_path / "m")) as r:
        for k, v in values.items():
            out = np.empty(v.shape, np.float32)
            r.read_into(k, out)
            np.testing.assert_array_equal(out, v)
        buf = bytearray(1000)
        joined = b"".join(bytes(c) for c in r.iter_chunks("big", memoryview(buf)))
        assert joined == big.tobytes()
        ring = [bytearray(1000) for _ in range(3)]
        held, owners = [], []
        for chunk in r.iter_chunks("big", ring):  # round-robin: a chunk survives the next two
            held.append(chunk)
            owners.append(
                next(
                    i
                    for i, b in enumerate(ring)
                    if np.shares_memory(np.frombuffer(b, np.uint8), np.frombuffer(chunk, np.uint8))
                )
            )
            if len(held) >= 3:
                assert bytes(held[-3]) == big.tobytes()[(len(held) - 3) * 1000 : (len(held) - 2) * 1000]
        assert owners == [k % 3 for k in range(len(owners))]


def test_add_chunks_and_wrong_total(tmp_path, small_chunks):
    arr = np.arange(10000, dtype=np.int64)
    raw = arr.tobytes()
    with BundleWriter(str(tmp_path / "m")) as w:
        w.add_chunks("c", np.int64, (100, 100), [raw[i : i + 3000] for i in range(0, len(raw), 3000)])
        with pytest.raises(ValueError, match="bytes"):
            w.add_chunks("short", np.int64, (100, 100), [raw[:80]])
        with pytest.raises(ValueError, match="more than"):
            w.add_chunks("long", np.int64, (10,), [raw[:400]])
        w.add("after", np.ones(3, np.uint8))
        w.finish()
    with BundleReader(str(tmp_path / "m")) as r:
        assert r.keys() == ["after", "c"]
        np.testing.assert_array_equal(r.get_tensor("c"), arr.reshape(100, 100))
        assert r.info("after").offset == arr.nbytes  # failed adds left no bytes behind


def test_writer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="nope"):
        BundleWriter(str(tmp_path / "nope" / "m"))
    with BundleWriter(str(tmp_path / "m")) as w:
        with pytest.raises(TypeError):
            w.add("s", np.array(["a", "b"]))
        with pytest.raises(TypeError):
            w.add("o", np.array([object()]))
        w.add("x", np.ones(2))
        with pytest.raises(ValueError, match="already"):
            w.add("x", np.ones(2))
        with pytest.raises(ValueError):
            w.add("", np.ones(2))


def test_reader_errors(tmp_path):
    with BundleWriter(str(tmp_path / "m")) as w:
        w.add("x", np.ones((2, 3), np.float32))
        w.finish()
    with pytest.raises(errors.NotFoundError):
        BundleReader(str(tmp_path / "missing"))
    with BundleReader(str(tmp_path / "m")) as r:
        with pytest.raises(errors.NotFoundError, match="Key y not found"):
            r.get_tensor("y")
        with pytest.raises(errors.NotFoundError):
            r.shape("y")
        with pytest.raises(errors.InvalidArgumentError, match=r"float32 \[2, 3\].*float64"):
            r.read_into("x", np.empty((2, 3), np.float64))
        with pytest.raises(errors.InvalidArgumentError):
            r.read_into("x", np.empty((3, 2), np.float32))
        with pytest.raises(errors.InvalidArgumentError):
            r.read_into("x", np.empty((2, 6), np.float32)[:, ::2])
    os.remove(str(tmp_path / "m.data-00000-of-00001"))
    with pytest.raises(errors.NotFoundError, match="data-00000-of-00001"):
        BundleReader(str(tmp_path / "m"))


def _final_files(d):
    return sorted(n for n in os.listdir(d) if not n.endswith(".tmp"))


def test_abort_and_exception_leave_no_final_files(tmp_path):
    w = BundleWriter(str(tmp_path / "a"))
    w.add("x", np.ones(10))
    assert len(os.listdir(tmp_path)) == 1 and os.listdir(tmp_path)[0].endswith(".tmp")
    w.abort()
    assert os.listdir(tmp_path) == []
    with pytest.raises(RuntimeError):
        with BundleWriter(str(tmp_path / "b")) as w:
            w.add("x", np.ones(10))
            raise RuntimeError("boom")
    with BundleWriter(str(tmp_path / "c")) as w:
        w.add("x", np.ones(10))  # leaving the block without finish() discards the save
    assert os.listdir(tmp_path) == []


def test_killed_save_leaves_temps_that_cleanup_removes(tmp_path):
    code = (
        "import os, numpy as np\n"
        "from graphvar.checkpoint import BundleWriter\n"
        f"w = BundleWriter({str(tmp_path / 'k')!r})\n"
        "w.add('x', np.ones(1000))\n"
        "os._exit(9)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": os.getcwd()}
    )
    leftovers = os.listdir(tmp_path)
    assert len(leftovers) == 1 and ".tmp" in leftovers[0] and _final_files(tmp_path) == []
    live = BundleWriter(str(tmp_path / "live"))  # this process is alive: its temp must survive
    live.add("x", np.ones(3))
    assert cleanup_stale_temps(str(tmp_path)) == 1
    assert len(os.listdir(tmp_path)) == 1
    live.finish()
    assert _final_files(tmp_path) == ["live.data-00000-of-00001", "live.index"]
    assert cleanup_stale_temps(str(tmp_path)) == 0
