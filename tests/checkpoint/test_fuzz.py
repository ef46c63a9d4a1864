"""Hostile checkpoint files, for both readers and for Saver.restore.

Every case must either raise one of the documented errors (DataLossError, NotFoundError,
UnimplementedError, InvalidArgumentError) or return exactly the original values; it must
not allocate more than a small multiple of the files' size, hang, leak a descriptor, or
run any code from the file. Longer, coverage-guided runs: ci/fuzz_checkpoint.py (atheris).
"""

from __future__ import annotations

import builtins
import json
import marshal
import os
import pickle
import re
import signal
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphvar as tf
from graphvar import errors
from graphvar.checkpoint import BundleWriter, SafetensorsWriter, crc, open_reader
from graphvar.checkpoint.proto import BundleEntry, BundleHeader
from graphvar.checkpoint.table import FOOTER_SIZE, TableBuilder
from tests.checkpoint.ckpt_helpers import DATA, valid_files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALLOWED = (errors.DataLossError, errors.NotFoundError, errors.UnimplementedError, errors.InvalidArgumentError)
VALUES = {
    "a": np.arange(12, dtype=np.float32).reshape(3, 4),
    "b/c": np.array([1, -2, 3, 2**40, -5], np.int64),
    "flag": np.array(True),
    "h": np.arange(6, dtype=np.float16).reshape(2, 3) - 2,
}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _originals(tmp_dir) -> dict[str, dict[str, bytes]]:
    """The valid files of both formats, as {kind: {suffix: bytes}}."""
    return valid_files(os.path.join(tmp_dir, "orig"), VALUES)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return _originals(str(tmp_path_factory.mktemp("orig")))


@pytest.fixture(scope="module")
def model():
    """A graph with the variables of VALUES, a Session and a Saver for the restore path."""
    graph = tf.Graph()
    with graph.as_default():
        variables = {k: tf.Variable(np.zeros_like(v), name=k.replace("/", "_")) for k, v in VALUES.items()}
        saver = tf.train.Saver(variables)
        init = tf.variables_initializer(list(variables.values()))
    sess = tf.Session(graph=graph)
    yield variables, saver, init, sess
    sess.close()


class _Alarm:
    """Fails a case that runs for more than ``seconds`` (a hang) instead of blocking the suite."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def _fire(self, *_):
        raise TimeoutError(f"reading took more than {self.seconds} s")

    def __enter__(self):
        self._old = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old)


def _write(directory, files: dict[str, bytes]) -> tuple[str, int]:
    prefix = os.path.join(str(directory), "ckpt")
    for suffix in (".index", DATA, ".safetensors"):
        if os.path.exists(prefix + suffix):
            os.remove(prefix + suffix)
    for suffix, data in files.items():
        with open(prefix + suffix, "wb") as f:
            f.write(data)
    return prefix, sum(len(d) for d in files.values())


def _read_all(prefix: str) -> dict[str, np.ndarray]:
    with open_reader(prefix) as r:
        return {k: r.get_tensor(k) for k in r.keys()}


def _guarded(fn, size: int):
    """Runs fn() under the alarm and tracemalloc; returns its result or the allowed error."""
    fds = len(os.listdir("/proc/self/fd"))
    tracemalloc.start()
    try:
        with _Alarm(5):
            result = fn()
    except ALLOWED as e:
        result = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= 8 * size + (256 << 10), f"peak allocation {peak} bytes for {size} bytes of files"
    assert len(os.listdir("/proc/self/fd")) == fds, "a file descriptor was left open"
    return result


def _same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> bool:
    return sorted(got) == sorted(want) and all(
        got[k].dtype == want[k].dtype and got[k].shape == want[k].shape and got[k].tobytes() == want[k].tobytes()
        for k in want
    )


def _check_reader(directory, files: dict[str, bytes], exact_names: bool = True) -> object:
    """Reads every tensor: an allowed error, or exactly VALUES (names may differ when not exact_names)."""
    prefix, size = _write(directory, files)
    result = _guarded(lambda: _read_all(prefix), size)
    if not isinstance(result, Exception):
        if exact_names:
            assert _same(result, VALUES), f"damaged file read as {result}"
        else:
            got = sorted((v.dtype.str, v.shape, v.tobytes()) for v in result.values())
            assert got == sorted((v.dtype.str, v.shape, v.tobytes()) for v in VALUES.values())
    return result


def _check_restore(directory, files: dict[str, bytes], model) -> object:
    """Saver.restore: an allowed error or exactly VALUES; validation errors change nothing."""
    variables, saver, init, sess = model
    prefix, size = _write(directory, files)
    sess.run(init)
    result = _guarded(lambda: saver.restore(sess, prefix), size)
    if isinstance(result, errors.DataLossError):
        return result  # documented: the variable that failed its check is left uninitialized
    want = VALUES if result is None else {k: np.zeros_like(v) for k, v in VALUES.items()}
    got = dict(zip(variables, sess.run(list(variables.values()))))
    assert _same({k: np.asarray(v) for k, v in got.items()}, want), f"restore outcome {result!r} left {got}"
    return result


def test_originals_read_back(tmp_path, originals, model):
    for kind in ("bundle", "safetensors"):
        assert _same(_check_reader(tmp_path, originals[kind]), VALUES)
        assert _check_restore(tmp_path, originals[kind], model) is None


# ---- truncation at every length, every file ----
@pytest.mark.parametrize("kind,suffix", [("bundle", ".index"), ("bundle", DATA), ("safetensors", ".safetensors")])
def test_truncation_at_every_byte(tmp_path, originals, model, kind, suffix):
    full = originals[kind][suffix]
    for n in range(len(full)):
        files = {**originals[kind], suffix: full[:n]}
        assert isinstance(_check_reader(tmp_path, files), errors.DataLossError), f"{suffix} cut at {n}"
        if n % 7 == 0:
            assert isinstance(_check_restore(tmp_path, files, model), errors.DataLossError)


# ---- bit flips ----
def test_every_single_bit_flip_in_tensor_data_is_caught(tmp_path, originals):
    """CRC32C detects every 1-bit error: exhaustive over the data file (all four tensors)."""
    data = originals["bundle"][DATA]
    for bit in range(8 * len(data)):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        result = _check_reader(tmp_path, {**originals["bundle"], DATA: bytes(damaged)})
        assert isinstance(result, errors.DataLossError) and "Checksum does not match" in str(result), bit


@FUZZ
@given(data=st.data())
def test_bit_flips_in_bundle_index(tmp_path, originals, model, data):
    index = originals["bundle"][".index"]
    flips = data.draw(st.lists(st.integers(0, 8 * len(index) - 1), min_size=1, max_size=3, unique=True))
    damaged = bytearray(index)
    for bit in flips:
        damaged[bit // 8] ^= 1 << (bit % 8)
    files = {**originals["bundle"], ".index": bytes(damaged)}
    result = _check_reader(tmp_path, files)
    padding = range(len(index) - FOOTER_SIZE + 4, len(index) - 8)  # the footer's zero padding is unchecked
    if any(bit // 8 not in padding for bit in flips) and not isinstance(result, errors.DataLossError):
        # only a benign flip may pass: the continuation bit of the footer's last handle byte, which
        # turns "0e 00" into the overlong varint "8e 00" of the same value (TF's decoder accepts it too)
        assert _same(result, VALUES), flips
    _check_restore(tmp_path, files, model)


@FUZZ
@given(data=st.data())
def test_bit_flips_in_safetensors_header(tmp_path, originals, model, data):
    """Safetensors has no checksum: a flipped name byte goes unnoticed, but values, dtypes and
    shapes can only come back intact or raise."""
    raw = originals["safetensors"][".safetensors"]
    (n,) = struct.unpack("<Q", raw[:8])
    bit = data.draw(st.integers(0, 8 * (8 + n) - 1))
    damaged = bytearray(raw)
    damaged[bit // 8] ^= 1 << (bit % 8)
    files = {".safetensors": bytes(damaged)}
    _check_reader(tmp_path, files, exact_names=False)
    result = _check_restore(tmp_path, files, model)
    assert result is None or isinstance(result, ALLOWED)


@FUZZ
@given(data=st.data())
def test_overwritten_bytes_and_trailing_garbage(tmp_path, originals, model, data):
    kind, suffix = data.draw(st.sampled_from([("bundle", ".index"), ("bundle", DATA), ("safetensors", ".safetensors")]))
    full = originals[kind][suffix]
    junk = data.draw(st.binary(min_size=1, max_size=16))
    if data.draw(st.booleans()):
        # Safetensors data has no checksum: only its header can be overwritten and still be checked.
        end = len(full) if kind == "bundle" else 8 + struct.unpack("<Q", full[:8])[0]
        pos = data.draw(st.integers(0, end - 1))
        junk = junk[: end - pos]
        damaged = full[:pos] + junk + full[pos + len(junk) :]
        exact = kind == "bundle"
    else:
        damaged = full + junk  # trailing garbage: only a data file may carry bytes nobody points at
        exact = True
    files = {**originals[kind], suffix: damaged}
    result = _check_reader(tmp_path, files, exact_names=exact)
    if damaged != full and suffix == DATA and len(damaged) == len(full):
        assert isinstance(result, errors.DataLossError)
    _check_restore(tmp_path, files, model)


# ---- crafted bundle indexes ----
def _bundle(entries: list[tuple[bytes, BundleEntry | bytes]], data: bytes, header: BundleHeader | None = None,
            duplicate: bool = False) -> dict[str, bytes]:  # fmt: skip
    table = TableBuilder()
    table.add(b"", (header or BundleHeader()).encode())
    for key, entry in entries:
        if duplicate:
            table._last_key = None  # bypass the builder's ordering check to write a duplicate key
        table.add(key, entry if isinstance(entry, bytes) else entry.encode())
    return {".index": table.finish(), DATA: data}


_D = bytes(range(16))
_C = crc.mask(crc.value(_D))
U8 = tf.uint8.as_datatype_enum
BAD_ENTRIES = {
    "negative dim": [(b"a", BundleEntry(U8, (-16,), 0, 0, 16, _C))],
    "huge dims": [(b"a", BundleEntry(U8, (2**40, 2**40), 0, 0, 16, _C))],
    "huge dims around a zero": [(b"a", BundleEntry(U8, (2**62, 0, 2**62), 0, 0, 0, crc.mask(0)))],
    "rank 65": [(b"a", BundleEntry(U8, (1,) * 65, 0, 0, 1, _C))],
    "unknown rank": [(b"a", BundleEntry(U8, (), 0, 0, 16, _C).encode().replace(b"\x12\x00", b"\x12\x02\x18\x01"))],
    "negative offset": [(b"a", BundleEntry(U8, (16,), 0, -1, 16, _C))],
    "offset past the end": [(b"a", BundleEntry(U8, (1,), 0, 16, 1, _C))],
    "huge offset": [(b"a", BundleEntry(U8, (16,), 0, 2**63 - 1, 16, _C))],
    "huge size": [(b"a", BundleEntry(U8, (16,), 0, 0, 2**63 - 1, _C))],
    "negative size": [(b"a", BundleEntry(U8, (16,), 0, 0, -16, _C))],
    "size and shape disagree": [(b"a", BundleEntry(U8, (15,), 0, 0, 16, _C))],
    "dtype 0": [(b"a", BundleEntry(0, (16,), 0, 0, 16, _C))],
    "dtype 99": [(b"a", BundleEntry(99, (16,), 0, 0, 16, _C))],
    "dtype -1": [(b"a", BundleEntry(-1, (16,), 0, 0, 16, _C))],
    "float32 dtype on 15 bytes": [(b"a", BundleEntry(tf.float32.as_datatype_enum, (4,), 0, 0, 15, _C))],
    "shard 1 of 1": [(b"a", BundleEntry(U8, (16,), 1, 0, 16, _C))],
    "negative shard": [(b"a", BundleEntry(U8, (16,), -1, 0, 16, _C))],
    "wrong crc": [(b"a", BundleEntry(U8, (16,), 0, 0, 16, _C ^ 1))],
    "non-UTF-8 name": [(b"\xff\xfe", BundleEntry(U8, (16,), 0, 0, 16, _C))],
}


@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
def test_crafted_bundle_entries(tmp_path, case):
    result = _check_reader(tmp_path, _bundle(BAD_ENTRIES[case], _D), exact_names=False)
    assert isinstance(result, errors.DataLossError), f"{case}: {result!r}"


@pytest.mark.parametrize(
    "header,error",
    [(BundleHeader(num_shards=0), errors.DataLossError), (BundleHeader(num_shards=2**20), errors.DataLossError),
     (BundleHeader(num_shards=-3), errors.DataLossError), (BundleHeader(num_shards=2), errors.NotFoundError),
     (BundleHeader(endianness=1), errors.UnimplementedError), (BundleHeader(endianness=7), errors.DataLossError),
     (BundleHeader(min_consumer=99), errors.DataLossError)],
)  # fmt: skip
def test_crafted_bundle_headers(tmp_path, header, error):
    files = _bundle([(b"a", BundleEntry(U8, (16,), 0, 0, 16, _C))], _D, header)
    assert isinstance(_check_reader(tmp_path, files, exact_names=False), error)


def test_duplicate_keys_are_data_loss(tmp_path):
    files = _bundle([(b"a", BundleEntry(U8, (16,), 0, 0, 16, _C))] * 2, _D, duplicate=True)
    assert isinstance(_check_reader(tmp_path, files, exact_names=False), errors.DataLossError)


def test_overlapping_entries_read_the_bytes_they_name(tmp_path):
    """TF's format allows two entries over the same bytes; each still passes its own CRC."""
    files = _bundle([(b"a", BundleEntry(U8, (16,), 0, 0, 16, _C)), (b"b", BundleEntry(U8, (16,), 0, 0, 16, _C))], _D)
    prefix, size = _write(tmp_path, files)
    got = _guarded(lambda: _read_all(prefix), size)
    assert sorted(got) == ["a", "b"] and all(v.tobytes() == _D for v in got.values())


@pytest.mark.parametrize("kind", ["bundle", "safetensors"])
def test_names_with_slashes_and_dots_are_only_keys(tmp_path, monkeypatch, kind):
    """Tensor names are never used as paths: reading opens only the checkpoint's own files."""
    names = ["../../escape", "a/../../b", "/abs", "..", "x/./y"]
    prefix = os.path.join(str(tmp_path), "n")
    values = {n: np.full(3, i, np.int32) for i, n in enumerate(names)}
    if kind == "bundle":
        with BundleWriter(prefix) as w:
            for k, v in values.items():
                w.add(k, v)
            w.finish()
    else:
        with SafetensorsWriter(prefix, [(k, v.dtype, v.shape) for k, v in values.items()]) as w:
            for k, v in values.items():
                w.add(k, v)
            w.finish()
    opened, real_open = [], os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    got = _read_all(prefix)
    assert sorted(got) == sorted(names) and all(np.array_equal(got[k], values[k]) for k in names)
    assert all(os.path.dirname(p) == str(tmp_path) for p in opened), opened


# ---- crafted safetensors headers ----
def _st(header, data: bytes = b"\0" * 16, raw: bytes | None = None, length: int | None = None) -> dict[str, bytes]:
    body = raw if raw is not None else json.dumps(header).encode()
    return {".safetensors": struct.pack("<Q", len(body) if length is None else length) + body + data}


def _t(dtype="U8", shape=(16,), offsets=(0, 16)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


BAD_HEADERS = {
    "length 2**64-1": _st({"a": _t()}, length=2**64 - 1),
    "length 2**63": _st({"a": _t()}, length=2**63),
    "length past the end": _st({"a": _t()}, length=10_000),
    "length 0": _st({"a": _t()}, length=0),
    "not JSON": _st(None, raw=b"{not json}"),
    "not UTF-8": _st(None, raw=b'{"\xff": 1}'),
    "deeply nested": _st(None, raw=b"[" * 100_000 + b"]" * 100_000),
    "not an object": _st(None, raw=b"[1, 2]"),
    "duplicate names": _st(None, raw=b'{"a": %s, "a": %s}' % (json.dumps(_t()).encode(), json.dumps(_t()).encode())),
    "unknown dtype": _st({"a": _t("F33")}),
    "dtype not a string": _st({"a": _t(7)}),
    "negative dim": _st({"a": _t(shape=(-16,))}),
    "float dim": _st({"a": _t(shape=(16.0,))}),
    "bool dim": _st({"a": _t(shape=(True,))}),
    "huge dims": _st({"a": _t(shape=(2**40, 2**40))}),
    "huge dims around a zero": _st({"a": _t(shape=(2**62, 0, 2**62), offsets=(0, 0))}, data=b""),
    "rank 65": _st({"a": _t(shape=(1,) * 65, offsets=(0, 1))}, data=b"\0"),
    "huge int": _st(None, raw=b'{"a": {"dtype": "U8", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 16]}}'),
    "negative offset": _st({"a": _t(offsets=(-1, 15))}),
    "offsets reversed": _st({"a": _t(offsets=(16, 0))}),
    "offset past the end": _st({"a": _t(offsets=(0, 17))}),
    "huge offset": _st({"a": _t(offsets=(0, 2**64))}),
    "overlap": _st({"a": _t(shape=(10,), offsets=(0, 10)), "b": _t(shape=(10,), offsets=(6, 16))}),
    "hole": _st({"a": _t(shape=(8,), offsets=(0, 8)), "b": _t(shape=(4,), offsets=(12, 16))}),
    "trailing garbage": _st({"a": _t()}, data=b"\0" * 20),
    "size and shape disagree": _st({"a": _t(shape=(15,))}),
    "missing field": _st({"a": {"dtype": "U8", "shape": [16]}}),
    "extra field": _st({"a": {**_t(), "x": 1}}),
    "metadata not a map": _st({"a": _t(), "__metadata__": ["x"]}),
    "metadata values not strings": _st({"a": _t(), "__metadata__": {"x": {"y": 1}}}),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_crafted_safetensors_headers(tmp_path, case):
    result = _check_reader(tmp_path, BAD_HEADERS[case], exact_names=False)
    assert isinstance(result, errors.DataLossError), f"{case}: {result!r}"


def test_f8_safetensors_is_unimplemented(tmp_path):
    result = _check_reader(tmp_path, _st({"a": _t("F8_E4M3", (16,))}), exact_names=False)
    assert isinstance(result, errors.UnimplementedError)


# ---- nothing in a file can run code ----
SENTINEL_CODE = "open({path!r}, 'w').write('pwned')"


class _Pwn:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (exec, (SENTINEL_CODE.format(path=self.path),))


def test_pickle_payloads_in_files_are_never_executed(tmp_path, monkeypatch, model):
    sentinel = str(tmp_path / "sentinel")
    payload = pickle.dumps(_Pwn(sentinel), protocol=0)
    assert b"exec" in payload
    d = str(tmp_path / "ckpts")
    os.mkdir(d)
    # A bundle whose tensor data, names and a string entry are pickles.
    prefix = os.path.join(d, "pk")
    table = TableBuilder()
    table.add(b"", BundleHeader().encode())
    c = crc.mask(crc.value(payload))
    string_entry = BundleEntry(tf.string.as_datatype_enum, (), 0, 0, len(payload), c)
    table.add(b"a", BundleEntry(U8, (len(payload),), 0, 0, len(payload), c).encode())
    table.add(payload.replace(b"\n", b" ")[:40], string_entry.encode())
    with open(prefix + ".index", "wb") as f:
        f.write(table.finish())
    with open(prefix + DATA, "wb") as f:
        f.write(payload)
    # A safetensors file with pickles in a name, the metadata and the data.
    st_path = os.path.join(d, "pk.safetensors")
    header = {payload.decode("latin-1"): _t(shape=(len(payload),), offsets=(0, len(payload))),
              "__metadata__": {"format": "pt", "x": payload.decode("latin-1")}}  # fmt: skip
    files = _st(header, data=payload)
    with open(st_path, "wb") as f:
        f.write(files[".safetensors"])

    def forbidden(name):
        def fail(*a, **k):
            raise AssertionError(f"{name} called while reading a checkpoint")

        return fail

    for mod, name in [(pickle, "loads"), (pickle, "load"), (pickle, "Unpickler"), (builtins, "eval"),
                      (builtins, "exec"), (marshal, "loads"), (np, "load"), (os, "system")]:  # fmt: skip
        monkeypatch.setattr(mod, name, forbidden(f"{mod.__name__}.{name}"))
    with open_reader(prefix) as r:
        assert r.get_tensor("a").tobytes() == payload
        (other,) = [k for k in r.keys() if k != "a"]
        with pytest.raises(errors.UnimplementedError):
            r.get_tensor(other)
    with open_reader(st_path) as r:
        assert [r.get_tensor(k).tobytes() for k in r.keys()] == [payload]
        assert r.metadata()["x"] == payload.decode("latin-1")
    assert tf.train.list_variables(prefix)
    with tf.train.NewCheckpointReader(st_path) as r:
        r.debug_string()
    variables, saver, _, sess = model
    with pytest.raises(errors.NotFoundError):
        saver.restore(sess, prefix)
    monkeypatch.undo()
    assert not os.path.exists(sentinel)
    pickle.loads(payload)  # the payload is live: unpickling it really would have run the code
    assert os.path.exists(sentinel)


_FORBIDDEN = [
    (r"^\s*(import|from)\s+(pickle|cPickle|marshal|shelve|dill|joblib)\b", "a deserializer that runs code"),
    (r"\bpickle\.|\bmarshal\.|\bshelve\.", "a deserializer that runs code"),
    (r"(?<![\w.])eval\(|(?<![\w.])exec\(", "eval/exec"),
    (r"allow_pickle\s*=\s*True", "np.load with allow_pickle"),
    (r"\bnp\.load\(|\bnumpy\.load\(", "np.load"),
    (r"\byaml\.load\(|__import__\(", "a loader that runs code"),
]


def test_no_reader_or_writer_source_can_run_code_from_a_file():
    hits = []
    for package in ("checkpoint", "train"):
        root = os.path.join(REPO, "graphvar", package)
        for name in sorted(os.listdir(root)):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(root, name)) as f:
                for lineno, line in enumerate(f, 1):
                    hits += [f"{package}/{name}:{lineno}: {why}: {line.strip()}"
                             for pattern, why in _FORBIDDEN if re.search(pattern, line)]  # fmt: skip
    assert not hits, "\n".join(hits)


def test_the_source_check_finds_what_it_looks_for():
    lines = ["import pickle", "x = eval(s)", "np.load(p, allow_pickle=True)", "marshal.loads(b)"]
    assert all(any(re.search(p, line) for p, _ in _FORBIDDEN) for line in lines)
    assert not any(re.search(p, "ast.literal_eval_not(x); self.exec_plan()") for p, _ in _FORBIDDEN)
