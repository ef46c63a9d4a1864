"""Merging a sharded checkpoint's indexes: graphvar's merge_bundles against TF's MergeV2Checkpoints.

Inputs: 100,000 small float32 tensors in 4 one-shard bundles (graphvar writes them; the bytes are
TF's SaveV2's), hard-linked afresh before every repetition (a merge renames the data files and
deletes the input indexes). TensorFlow runs in its own process (a TF venv: $GRAPHVAR_TF_PYTHON,
/work/tfvenv/bin/python, or this interpreter if it has tensorflow), which times only its
``tf.raw_ops.MergeV2Checkpoints`` call; graphvar's repetitions alternate with TF's. Memory: peak
RSS during one merge in a fresh process, minus its RSS before.

    python -m benchmarks --only merge
    python -m benchmarks.cases_merge --probe DIR    # (internal) one memory measurement
"""

from __future__ import annotations

import gc
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import numpy as np

from benchmarks.harness import Goal, Row, Stat

SHARDS = 4
_TF_SERVER = r"""
import os, sys, time
import tensorflow as tf
for line in sys.stdin:
    out, *ins = line.split()
    t = time.perf_counter()
    tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=ins, destination_prefix=out, delete_old_dirs=False)
    print(time.perf_counter() - t, flush=True)
"""


def make_inputs(where: str, n: int, shards: int = SHARDS) -> list[str]:
    from graphvar.checkpoint import BundleWriter

    os.makedirs(where, exist_ok=True)
    names = [f"block_{i % 13:02d}/layer_{i:06d}/kernel" for i in range(n)]
    prefixes = []
    for k in range(shards):
        prefix = os.path.join(where, f"part-{k:05d}-of-{shards:05d}")
        with BundleWriter(prefix) as w:
            for i, name in enumerate(names[k::shards]):
                w.add(name, np.full(2, i, np.float32))
            w.finish()
        prefixes.append(prefix)
    return prefixes


def fresh_copy(prefixes: list[str], where: str) -> list[str]:
    """Hard links of the inputs in a new directory ``where``; returns their prefixes."""
    os.makedirs(where)
    out = []
    for p in prefixes:
        q = os.path.join(where, os.path.basename(p))
        for path in glob.glob(glob.escape(p) + ".*"):
            os.link(path, q + path[len(p) :])
        out.append(q)
    return out


def tf_python() -> str | None:
    for cand in (os.environ.get("GRAPHVAR_TF_PYTHON"), "/work/tfvenv/bin/python"):
        if cand and os.path.exists(cand):
            return cand
    try:
        import importlib.util

        return sys.executable if importlib.util.find_spec("tensorflow") else None
    except (ImportError, ValueError):
        return None


def _start_tf() -> Any:
    python = tf_python()
    if python is None:
        return "missing: no Python with tensorflow (set GRAPHVAR_TF_PYTHON)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.Popen([python, "-c", _TF_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip


def _tf_merge(proc: Any, inputs: list[str], out: str) -> float:
    proc.stdin.write(" ".join([out, *inputs]) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("the TensorFlow merge process died")
    return float(line)


def _ours(inputs: list[str], out: str) -> float:
    from graphvar.checkpoint.merge import merge_bundles

    gc.collect()
    gc.disable()
    try:
        t = time.perf_counter()
        merge_bundles(inputs, out)
        return time.perf_counter() - t
    finally:
        gc.enable()


def probe(directory: str) -> dict:
    """Peak extra RSS of one merge of the bundles in ``directory`` (a fresh process)."""
    from graphvar.checkpoint.merge import merge_bundles

    inputs = sorted(p[: -len(".index")] for p in glob.glob(os.path.join(directory, "part-*.index")))
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status("VmRSS")
    merge_bundles(inputs, os.path.join(directory, "merged"))
    return {"extra": _status("VmHWM") - base}


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def case_merge(ctx: Any) -> list[Row]:
    n = {"smoke": 2000, "quick": 100_000, "full": 100_000}[ctx.mode]
    reps = {"smoke": 2, "quick": 5, "full": 9}[ctx.mode]
    base = os.path.join(ctx.tmpdir, "merge")
    inputs = make_inputs(os.path.join(base, "src"), n)
    proc = _start_tf() if ctx.references else "missing: --graphvar-only"
    ours, theirs = [], []
    try:
        for rep in range(reps + 1):  # the first round warms both up and is not counted
            got = _ours(fresh_copy(inputs, os.path.join(base, f"g{rep}")), os.path.join(base, f"g{rep}", "merged"))
            if rep:
                ours.append(got)
            if not isinstance(proc, str):
                t = _tf_merge(
                    proc, fresh_copy(inputs, os.path.join(base, f"t{rep}")), os.path.join(base, f"t{rep}", "m")
                )
                if rep:
                    theirs.append(t)
            shutil.rmtree(os.path.join(base, f"g{rep}"), ignore_errors=True)
            shutil.rmtree(os.path.join(base, f"t{rep}"), ignore_errors=True)
    finally:
        if not isinstance(proc, str):
            proc.stdin.close()
            proc.wait(timeout=60)
    stat = lambda xs: Stat(float(np.median(xs)), min(xs), len(xs))  # noqa: E731
    ref = stat(theirs) if theirs else proc
    rows = [Row("merge", f"merge of {n:,} tensors in {SHARDS} shards (index only)", "time", stat(ours), {"tf": ref},
                goals=[Goal("tf", ">=", 0.5, "≤ 2× TF's MergeV2Checkpoints time")])]  # fmt: skip
    if ctx.memory:
        rows.append(_memory_row(inputs, base, n))
    return rows


def _memory_row(inputs: list[str], base: str, n: int) -> Row:
    where = os.path.join(base, "mem")
    fresh_copy(inputs, where)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.cases_merge", "--probe", where], cwd=root,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    got: Stat | str = f"error: {proc.stderr[-300:]}" if proc.returncode or not lines else None
    if got is None:
        extra = json.loads(lines[-1])["extra"]
        got = Stat(extra, extra)
    return Row("merge", f"peak extra RSS, merge of {n:,} tensors", "memory", got,
               goals=[Goal(None, "<=", 64, "≤ 64 MiB")])  # fmt: skip


CASES = {"merge": case_merge}

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        print(json.dumps(probe(sys.argv[2])))
    else:
        sys.exit("usage: python -m benchmarks.cases_merge --probe DIR")
