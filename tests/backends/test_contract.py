"""One backend contract (graphvar/backends/base.py): every backend implements it, the run path uses only
it, and the planner reads op-definition flags, so a new op with an existing behaviour needs no planner edit."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import graphvar as tf
from graphvar import backends, plan
from graphvar.backends.base import Backend
from graphvar.framework.op_registry import OP_DEFS, register_op

ROOT = pathlib.Path(__file__).resolve().parents[2] / "graphvar"
RUN_PATH = sorted(p.name for p in ROOT.glob("plan*.py")) + ["session.py", "fetches.py", "train/saver_io.py"]
REQUIRED = ["empty", "from_host", "to_host", "copy_from_host", "owns"]


def _tree(rel: str) -> ast.AST:
    return ast.parse((ROOT / rel).read_text(encoding="utf-8"), rel)


def _cupy_importers(path: pathlib.Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if any(n.split(".")[0] in ("cupy", "cupyx") for n in names):
            return True
    return False


def test_cupy_is_imported_only_by_gpu_modules_of_backends():
    importers = {str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if _cupy_importers(p)}
    assert "backends/cupy_backend.py" in importers
    assert all(p.startswith("backends/") for p in importers), importers
    assert not importers & {
        f"backends/{m}.py" for m in ("__init__", "base", "numpy_backend", "array_kernels", "kernels_src")
    }


_BLOCK_CUPY = """
import sys
tried = set()
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("cupy", "cupyx"):
            f = sys._getframe(1)
            while f is not None and not f.f_globals.get("__name__", "").startswith("graphvar"):
                f = f.f_back
            tried.add(f.f_globals["__name__"] if f is not None else "?")
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
import graphvar as tf
v = tf.Variable(tf.random_uniform([3], seed=1))
with tf.Session() as sess:
    sess.run(v.initializer)
    sess.run(v)
print(sorted(tried))
"""


def test_without_cupy_only_cupy_backend_tries_to_import_it(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT.parent)}
    out = subprocess.run([sys.executable, "-c", _BLOCK_CUPY], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['graphvar.backends.cupy_backend']"


@pytest.mark.parametrize("rel", RUN_PATH)
def test_run_path_does_not_branch_on_arrays_or_op_types(rel):
    for node in ast.walk(_tree(rel)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "isinstance":
                assert "ndarray" not in ast.unparse(node.args[1]) and "generic" not in ast.unparse(node.args[1]), (
                    f"{rel}:{node.lineno}: {ast.unparse(node)}"
                )
            if node.func.id in ("hasattr", "getattr") and len(node.args) > 1:
                attr = ast.unparse(node.args[1])
                assert attr not in ("'save_chunks'", "'restore_from'", "'release'", "'writeable'", "'ndim'"), (
                    f"{rel}:{node.lineno}: {ast.unparse(node)}"
                )
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "type":
            pytest.fail(f"{rel}:{node.lineno}: compares an op type: {ast.unparse(node)}")
        if isinstance(node, ast.Compare) and ast.unparse(node.left).endswith(".name"):
            assert "'numpy'" not in ast.unparse(node), f"{rel}:{node.lineno}: {ast.unparse(node)}"


def test_every_backend_implements_the_contract(fake_gpu):
    for backend in (backends.host(), backends.gpu(0)):
        assert isinstance(backend, Backend) and backend.name and backend.device
        for method in REQUIRED:
            assert getattr(type(backend), method) is not getattr(Backend, method), (backend.name, method)
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        dev = backend.from_host(a)
        assert backend.owns(dev)
        copy = backend.fetch_copy(dev)
        assert type(copy) is np.ndarray and np.array_equal(copy, a) and not np.shares_memory(copy, a)
        buf = backend.empty((2, 3), np.float32)
        backend.copy_from_host(buf, a)
        assert np.array_equal(backend.to_host(buf), a) and backend.reusable(buf, (2, 3), np.float32)
        assert not backend.reusable(buf, (3, 2), np.float32) and not backend.reusable(None, (2, 3), np.float32)
        scalar = backend.fetch(backend.from_host(np.array(2.5, np.float32)))
        assert type(scalar) is np.float32 and scalar == 2.5
        backend.synchronize()


@pytest.mark.parametrize("device", ["/cpu:0", "/gpu:0"])
def test_scalar_fetches_are_numpy_scalars_on_every_backend(fake_gpu, device):
    with tf.device(device):
        v = tf.Variable(3.5, name="v")
        total = tf.reduce_sum(tf.ones([4], tf.int64))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess._variable_slot(v).backend.name == ("cupy" if "gpu" in device else "numpy")
        got_v, got_read, got_total = sess.run([v, v.value(), total])
    assert type(got_v) is np.float32 and got_v == 3.5
    assert type(got_read) is np.float32 and type(got_total) is np.int64 and got_total == 4


# ---- a new op with an existing behaviour: flags only, no planner edit ----
@pytest.fixture
def custom_ops(monkeypatch):
    """MyVariable / MyAssign / MyConst / MyFill / MyDynFill: copies of existing behaviours under new names."""
    from graphvar.ops import state_ops

    added = []

    def register(name, shape_fn, **flags):
        monkeypatch.setitem(OP_DEFS, name, None)
        del OP_DEFS[name]
        register_op(name, shape_fn, **flags)
        added.append(name)

    register("MyVariable", OP_DEFS["VariableV2"].shape_fn, stateful=True, aliases=True, ref_output=True, variable=True)
    register("MyAssign", OP_DEFS["Assign"].shape_fn, stateful=True, ref_inputs=(0,), aliases=True, ref_output=True,
             fill_target=1)  # fmt: skip
    register("MyConst", OP_DEFS["Const"].shape_fn, constant=True)
    register("MyFill", OP_DEFS["Fill"].shape_fn, fills=True)
    register("MyDynFill", lambda op: [(op._attrs["dtype"], tf.TensorShape([None]))], fills=True)
    host = backends.host()
    calls = {"MyDynFill": 0, "MyConst": 0}

    def dyn_fill(step, args, ctx, out=None):  # the shape is a run-time input: it needs its args
        calls["MyDynFill"] += 1
        n = int(args[0])
        return np.full((n,), step.attrs["value"], step.attrs["dtype"].np)

    def const(step, args, ctx):
        calls["MyConst"] += 1
        return step.attrs["value"]

    for name, kernel in [("MyVariable", host.kernels["VariableV2"]), ("MyAssign", host.kernels["Assign"]),
                         ("MyConst", const), ("MyFill", host.kernels["Fill"]), ("MyDynFill", dyn_fill)]:  # fmt: skip
        monkeypatch.setitem(host.kernels, name, kernel)
    yield state_ops, calls
    for name in added:
        OP_DEFS.pop(name, None)


def _op(graph, op_type, inputs, attrs, name):
    op = graph.create_op(op_type, inputs, attrs=attrs, name=name)
    return op.outputs[0]


def test_new_ops_with_existing_flags_plan_like_the_originals(custom_ops, monkeypatch):
    _, calls = custom_ops
    g = tf.Graph()
    with g.as_default(), tf.device("/cpu:0"):
        shape = tf.TensorShape([1000])
        var = _op(g, "MyVariable", [], {"shape": shape, "dtype": tf.float32, "container": "", "shared_name": ""}, "w")
        fill = _op(g, "MyFill", [], {"shape": [1000], "value": 2.0, "dtype": tf.float32}, "fill")
        init = _op(g, "MyAssign", [var, fill], {"validate_shape": True, "use_locking": True}, "init")
        n = _op(g, "MyConst", [], {"value": np.array(5, np.int32), "dtype": tf.int32}, "n")
        dyn = _op(g, "MyDynFill", [n], {"value": 7.0, "dtype": tf.float32}, "dyn")
        dyn_init = _op(g, "MyAssign", [var, dyn], {"validate_shape": False, "use_locking": True}, "dyn_init")
    with tf.Session(graph=g) as sess:
        steps = sess._compile(init, (), None).steps
        assert [s.op.name for s in steps] == ["init"] and steps[0].fill_step.op.name == "fill"  # fused
        sess.run(init)
        slot = sess._var_slots[var.op]  # the VarSlot the Session made for a `variable` op
        buf = slot.value
        assert buf.shape == (1000,) and (buf == 2.0).all()
        sess.run(init)
        assert slot.value is buf  # filled in place, no temporary
        assert sess.run(var)[0] == 2.0
        # a run-time shaped generator is not fused: it runs as a step with its input
        names = [s.op.name for s in sess._compile(dyn_init, (), None).steps]
        assert "dyn" in names and "n" not in names  # the constant is preset in the env, not a step
        sess.run(dyn_init)
        np.testing.assert_array_equal(sess.run(var), np.full(5, 7.0, np.float32))
        compiled = calls["MyConst"]
        sess.run(dyn_init)
        assert calls["MyDynFill"] == 2 and calls["MyConst"] == compiled  # preset at compile time, not per run
        fetched = sess.run(n)
        assert type(fetched) is np.int32 and fetched == 5


def test_lazy_inputs_flag_defers_the_input(monkeypatch):
    """InitializedValue's initial value runs only while the variable is uninitialized (lazy_inputs=(1,))."""
    from graphvar.framework.op_registry import get_op_def

    assert get_op_def("InitializedValue").lazy_inputs == (1,)
    with tf.device("/cpu:0"):  # the replaced thunk below gives a host value
        w = tf.Variable(tf.random_uniform([3], seed=1))
        w2 = tf.Variable(w.initialized_value() * 2)
    with tf.Session() as sess:
        sess.run(w.assign([1.0, 2.0, 3.0]))
        sess.run(w2.initializer)  # w is initialized: its value, the initial value is not computed
        np.testing.assert_array_equal(sess.run(w2), [2.0, 4.0, 6.0])
        assert sess._random_runs.get(w.initial_value.op, 0) == 0
    monkeypatch.setattr(plan, "_lazy", lambda steps, slot: lambda _, ctx: lambda: np.ones(3, np.float32))
    with tf.Session() as sess:  # the lazy thunk is what computes it: replaced, the value changes
        sess.run(w2.initializer)
        np.testing.assert_array_equal(sess.run(w2), np.full(3, 2.0, np.float32))
