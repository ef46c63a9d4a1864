"""bfloat16 in checkpoints: TensorFlow's bundle (both ways, bit for bit) and safetensors' BF16.

The TF-written fixture is tests/fixtures/tf_bfloat16 (make_tf_bfloat16_fixtures.py); the live checks
run TensorFlow in a subprocess and skip where no TensorFlow venv exists. Graphs are pinned to /cpu:0:
CuPy has no bfloat16 dtype (a GPU backend keeps bfloat16 values in host memory and cannot restore them yet).
"""

from __future__ import annotations

import json
import os
import struct

import ml_dtypes
import numpy as np
import pytest

import graphvar as tf
from graphvar import errors
from graphvar.checkpoint import BundleWriter, SafetensorsReader, SafetensorsWriter, cli, open_reader
from graphvar.checkpoint.proto import BundleEntry
from graphvar.checkpoint.table import TableBuilder, read_table
from tests.fixtures.make_tf_bfloat16_fixtures import SOURCE_BITS, SPECIAL_BITS
from tests.summary.tf_python import run_tf

BF16 = ml_dtypes.bfloat16
HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_bfloat16")
with open(os.path.join(HERE, "manifest.json")) as _f:
    MANIFEST = json.load(_f)
TF_PREFIX = os.path.join(HERE, MANIFEST["prefix"])


def _bits(name: str) -> np.ndarray:
    t = MANIFEST["tensors"][name]
    kind = {"bfloat16": np.uint16, "float32": np.uint32, "int64": np.int64}[t["dtype"]]
    return np.array(t["bits"], kind).reshape(t["shape"])


def _bf16(bits) -> np.ndarray:
    return np.asarray(bits, np.uint16).view(BF16)


def _same_bits(a: np.ndarray, bits: np.ndarray) -> None:
    assert a.dtype == BF16 and a.shape == bits.shape
    np.testing.assert_array_equal(a.view(np.uint16), bits)


# ---- TensorFlow's checkpoint into graphvar ----
def test_tensorflows_bfloat16_checkpoint_restores_bit_for_bit():
    assert _bits("bf/special").reshape(-1).tolist() == SPECIAL_BITS  # NaN payloads, -0, subnormals, inf
    tf.reset_default_graph()
    names = ("bf/special", "bf/rounded", "bf/scalar", "bf/empty")
    with tf.device("/cpu:0"):
        variables = {n: tf.Variable(np.zeros(_bits(n).shape, BF16), name=n) for n in names}
        step = tf.Variable(np.int64(0), name="step")
    with tf.Session() as sess:
        tf.train.Saver([*variables.values(), step]).restore(sess, tf.train.latest_checkpoint(HERE))
        for n, v in variables.items():
            _same_bits(sess.run(v), _bits(n))
        assert sess.run(step) == 7


def test_reader_lists_and_prints_tensorflows_bfloat16():
    reader = tf.train.NewCheckpointReader(TF_PREFIX)
    assert reader.get_variable_to_dtype_map()["bf/special"] == tf.bfloat16
    assert reader.get_variable_to_shape_map()["bf/special"] == [3, 4]
    assert b"bf/special (DT_BFLOAT16) [3,4]" in reader.debug_string()
    _same_bits(reader.get_tensor("bf/rounded"), _bits("bf/rounded"))


def test_cast_to_bfloat16_rounds_as_tensorflow():
    # TF's Cast of the fixture's float32 ties and overflows: round to nearest even, inf past the largest
    assert _bits("f32/source").tolist() == SOURCE_BITS
    tf.reset_default_graph()
    with tf.device("/cpu:0"):
        x = tf.placeholder(tf.float32, [len(SOURCE_BITS)])
        y = tf.cast(x, tf.bfloat16)
    with tf.Session() as sess:
        out = sess.run(y, {x: np.array(SOURCE_BITS, np.uint32).view(np.float32)})
    _same_bits(out, _bits("bf/rounded"))


def test_inspect_and_convert_carry_bfloat16(tmp_path, capsys):
    assert cli.inspect_main([TF_PREFIX]) == 0
    out = capsys.readouterr().out
    assert "bf/special\tbfloat16\t[3, 4]\t24 B" in out
    assert cli.inspect_main([TF_PREFIX, "--tensor", "bf/scalar"]) == 0
    assert "-3.14" in capsys.readouterr().out
    st = str(tmp_path / "m")
    assert cli.convert_main([TF_PREFIX, st, "--to", "safetensors"]) == 0
    assert cli.convert_main([st + ".safetensors", str(tmp_path / "back"), "--to", "tf"]) == 0
    with open_reader(st + ".safetensors") as a, open_reader(str(tmp_path / "back")) as b:
        assert a.dtype("bf/special") == b.dtype("bf/special") == tf.bfloat16
        for name in ("bf/special", "bf/rounded", "bf/empty"):
            _same_bits(a.get_tensor(name), _bits(name))
            _same_bits(b.get_tensor(name), _bits(name))


# ---- graphvar's checkpoint into TensorFlow ----
_TF_READS = """
import json, sys
import numpy as np
import tensorflow as tf
prefix = sys.argv[1]
reader = tf.train.load_checkpoint(prefix)
out = {"dtypes": {k: d.name for k, d in reader.get_variable_to_dtype_map().items()},
       "read": {k: np.asarray(reader.get_tensor(k)).view(np.uint16).reshape(-1).tolist() for k in ("w", "s")}}
names, dts = ["w", "s"], [tf.bfloat16, tf.bfloat16]  # RestoreV2 checks the stored dtype against these
restored = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=names, shape_and_slices=["", ""], dtypes=dts)
out["restored"] = [tf.bitcast(t, tf.uint16).numpy().reshape(-1).tolist() for t in restored]
g = tf.Graph()
with g.as_default():
    w = tf.compat.v1.Variable(tf.zeros([3, 4], tf.bfloat16), name="w")
    saver = tf.compat.v1.train.Saver([w])
    with tf.compat.v1.Session(graph=g) as sess:
        saver.restore(sess, prefix)
        out["saver"] = sess.run(tf.bitcast(w, tf.uint16)).reshape(-1).tolist()
print(json.dumps(out))
"""


def test_tensorflow_reads_and_restores_graphvars_bfloat16(tmp_path):
    tf.reset_default_graph()
    with tf.device("/cpu:0"):
        w = tf.Variable(_bf16(SPECIAL_BITS).reshape(3, 4), name="w")
        s = tf.Variable(tf.constant(0.5, tf.bfloat16), name="s")
        f = tf.Variable([1.0, 2.0], name="f")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = tf.train.Saver([w, s, f]).save(sess, str(tmp_path / "ours"), write_meta_graph=False)
    got = run_tf(_TF_READS, prefix)
    assert got["dtypes"] == {"w": "bfloat16", "s": "bfloat16", "f": "float32"}
    assert got["read"]["w"] == got["restored"][0] == got["saver"] == SPECIAL_BITS
    assert got["read"]["s"] == got["restored"][1] == [0x3F00]


def test_bundle_bytes_of_bfloat16_are_tensorflows(tmp_path):
    """Our writer, given TF's tensors in TF's order, writes TF's data file and the same entries."""
    prefix = str(tmp_path / "ours")
    with open_reader(TF_PREFIX) as r, BundleWriter(prefix) as w:
        names = r.keys()  # sorted, as TF's Saver adds them
        for name in names:
            w.add(name, r.get_tensor(name))
        w.finish()
    with open(TF_PREFIX + ".data-00000-of-00001", "rb") as a, open(prefix + ".data-00000-of-00001", "rb") as b:
        assert a.read() == b.read()
    theirs = dict(read_table(open(TF_PREFIX + ".index", "rb").read()))
    ours = dict(read_table(open(prefix + ".index", "rb").read()))
    assert {k: v for k, v in theirs.items() if k} == {k: v for k, v in ours.items() if k}


# ---- safetensors BF16 ----
def test_safetensors_bf16_round_trip_golden_header(tmp_path):
    value = _bf16(SPECIAL_BITS).reshape(3, 4)
    prefix = str(tmp_path / "m")
    with SafetensorsWriter(prefix, [("w", tf.bfloat16, (3, 4)), ("x", "float32", (1,))]) as wr:
        wr.add("w", value)
        wr.add("x", np.float32([2.5]))
        wr.finish()
    raw = open(prefix + ".safetensors", "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert raw[8 : 8 + n].rstrip() == (
        b'{"w":{"dtype":"BF16","shape":[3,4],"data_offsets":[0,24]},"x":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}'
    )
    assert raw[8 + n : 8 + n + 24] == np.array(SPECIAL_BITS, "<u2").tobytes()
    with SafetensorsReader(prefix + ".safetensors") as r:
        assert r.dtype("w") == tf.bfloat16
        _same_bits(r.get_tensor("w"), np.array(SPECIAL_BITS, np.uint16).reshape(3, 4))


def test_saver_safetensors_format_keeps_bfloat16(tmp_path):
    tf.reset_default_graph()
    with tf.device("/cpu:0"):
        v = tf.Variable(_bf16(SPECIAL_BITS), name="v")
        zero = v.assign(np.zeros(12, BF16))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver = tf.train.Saver([v], format="safetensors")
        path = saver.save(sess, str(tmp_path / "m"), write_meta_graph=False)
        sess.run(zero)
        saver.restore(sess, path)
        _same_bits(sess.run(v), np.array(SPECIAL_BITS, np.uint16))


def _st_serialize(st, name: str, shape: list[int], data: bytes) -> bytes:
    """The safetensors package's own writer for one BF16 tensor (0.8's TensorSpec, or 0.4's dicts)."""
    if not hasattr(st, "TensorSpec"):
        return bytes(st.serialize({name: {"dtype": "bfloat16", "shape": shape, "data": data}}))
    buf = np.frombuffer(data, np.uint8)  # alive through the call, which reads data_ptr
    spec = st.TensorSpec(dtype="bfloat16", shape=shape, data_ptr=buf.ctypes.data, data_len=buf.nbytes)
    return bytes(st.serialize({name: spec}))


def test_the_safetensors_package_reads_ours_and_we_read_its(tmp_path):
    st = pytest.importorskip("safetensors")  # its NumPy loader lacks BF16: the Rust core's (de)serialize
    prefix = str(tmp_path / "ours")
    with SafetensorsWriter(prefix, [("w", "bfloat16", (2, 6))]) as wr:
        wr.add("w", _bf16(SPECIAL_BITS).reshape(2, 6))
        wr.finish()
    ((name, spec),) = st.deserialize(open(prefix + ".safetensors", "rb").read())
    assert (name, spec["dtype"], list(spec["shape"])) == ("w", "BF16", [2, 6])
    assert bytes(spec["data"]) == np.array(SPECIAL_BITS, "<u2").tobytes()
    theirs = str(tmp_path / "theirs.safetensors")
    with open(theirs, "wb") as f:
        f.write(_st_serialize(st, "t", [12], np.array(SPECIAL_BITS[::-1], "<u2").tobytes()))
    with SafetensorsReader(theirs) as r:
        assert r.dtype("t") == tf.bfloat16
        _same_bits(r.get_tensor("t"), np.array(SPECIAL_BITS[::-1], np.uint16))


# ---- the other odd dtypes stay listed and refused only when read ----
@pytest.mark.parametrize("code,name", [(25, "float8_e4m3fn"), (24, "float8_e5m2"), (29, "int4"), (13, "qint32")])
def test_other_odd_bundle_dtypes_are_listed_and_refused_only_when_read(tmp_path, code, name):
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("bf", _bf16([0x3F80, 0xC000]))
        w.add("odd", np.zeros(2, np.int32))
        w.finish()
    table = TableBuilder()
    for key, value in read_table(open(prefix + ".index", "rb").read()):
        if key == b"odd":
            e = BundleEntry.decode(value)
            value = BundleEntry(code, e.shape, e.shard_id, e.offset, e.size, e.crc32c).encode()
        table.add(key, value)
    with open(prefix + ".index", "wb") as f:
        f.write(table.finish())
    reader = tf.train.NewCheckpointReader(prefix)
    assert reader.get_variable_to_dtype_map()["odd"].name == name
    assert f"odd (DT_{name.upper()}) [2]".encode() in reader.debug_string()
    with pytest.raises(errors.UnimplementedError, match=f"tensor odd.*{name}"):
        reader.get_tensor("odd")
    tf.reset_default_graph()
    with tf.device("/cpu:0"):
        bf = tf.Variable(np.zeros(2, BF16), name="bf")
    with tf.Session() as sess:
        tf.train.Saver([bf]).restore(sess, prefix)
        _same_bits(sess.run(bf), np.array([0x3F80, 0xC000], np.uint16))
