"""GraphDef export / import of a 10,000-node graph, graphvar against TensorFlow (issue 11: within 2x).

The graph: a placeholder and 2,500 blocks of MatMul, Add (with a Const), Relu, reduce_sum over an axis
(whose axis becomes a Const node on export): 10,001 NodeDefs. graphvar exports it
(``as_graph_def().SerializeToString()``) and imports the bytes into a fresh graph; TensorFlow, in a
subprocess of a TF venv, imports the same bytes (``tf.import_graph_def``) and exports its graph.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import time
from typing import Any

import numpy as np

from benchmarks.harness import Goal, Row, Stat

_TF = """
import sys, time, json, gc
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
data = open(sys.argv[1], "rb").read()
reps = int(sys.argv[2])
imp, exp = [], []
for i in range(reps + 1):
    gd = tf.GraphDef.FromString(data)
    with tf.Graph().as_default() as g:
        gc.collect(); t = time.perf_counter(); tf.import_graph_def(gd, name=""); t1 = time.perf_counter()
        g.as_graph_def().SerializeToString(); t2 = time.perf_counter()
    if i:
        imp.append(t1 - t); exp.append(t2 - t1)
print(json.dumps({"import": imp, "export": exp}))
"""


def tf_python() -> str | None:
    for cand in (os.environ.get("GRAPHVAR_TF_PYTHON"), "/work/tfvenv/bin/python"):
        if cand and os.path.exists(cand):
            return cand
    return None


def build(graphvar: Any, blocks: int) -> Any:
    tf = graphvar
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [4, 4], name="x")
        w = tf.constant(np.eye(4, dtype=np.float32), name="w")
        h = x
        for _ in range(blocks):
            h = tf.nn.relu(tf.matmul(h, w) + 1.0)
            h = h - tf.reduce_sum(h, axis=1, keepdims=True)
    return g


def _ours(graphvar: Any, g: Any) -> tuple[float, float, bytes]:
    gc.collect()
    t = time.perf_counter()
    data = g.as_graph_def().SerializeToString()
    t1 = time.perf_counter()
    with graphvar.Graph().as_default():
        graphvar.import_graph_def(data, name="")
    return t1 - t, time.perf_counter() - t1, data


def case_graph_def(ctx: Any) -> list[Row]:
    import graphvar

    blocks = {"smoke": 50, "quick": 1666, "full": 1666}[ctx.mode]
    reps = {"smoke": 1, "quick": 3, "full": 5}[ctx.mode]
    g = build(graphvar, blocks)
    exp, imp = [], []
    for rep in range(reps + 1):
        e, i, data = _ours(graphvar, g)
        if rep:
            exp.append(e), imp.append(i)
    n_nodes = len(graphvar.Graph.as_graph_def(g).node)
    refs: dict = {"export": "missing: --graphvar-only", "import": "missing: --graphvar-only"}
    python = tf_python() if ctx.references else None
    if ctx.references and python is None:
        refs = dict.fromkeys(refs, "missing: no Python with tensorflow (set GRAPHVAR_TF_PYTHON)")
    if python:
        path = f"{ctx.tmpdir}/graph.pb"
        with open(path, "wb") as f:
            f.write(data)
        out = subprocess.run([python, "-c", _TF, path, str(reps)], capture_output=True, text=True, timeout=600,
                             env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})  # fmt: skip
        if out.returncode:
            refs = dict.fromkeys(refs, f"error: {out.stderr[-200:]}")
        else:
            got = json.loads(out.stdout.strip().splitlines()[-1])
            refs = {k: Stat(float(np.median(v)), min(v), len(v)) for k, v in got.items()}
    stat = lambda xs: Stat(float(np.median(xs)), min(xs), len(xs))  # noqa: E731
    goal = [Goal("tf", ">=", 0.5, "≤ 2× TF's time")]
    return [
        Row("graph_def", f"export {n_nodes:,} nodes (as_graph_def + serialize)", "time", stat(exp), {"tf": refs["export"]},
            goals=goal),
        Row("graph_def", f"import {n_nodes:,} nodes (import_graph_def)", "time", stat(imp), {"tf": refs["import"]},
            goals=goal),
    ]  # fmt: skip


CASES = {"graph_def": case_graph_def}
