"""Saver save / restore throughput and peak memory, against TF, safetensors and plain I/O.

The model is `nvars` float32 variables of `total / nvars` bytes each, loaded with the same
random data in graphvar, TF and NumPy. Save timings include an fsync of every written file
(for all writers alike); restores read from the page cache.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from typing import Any

import numpy as np

from benchmarks.harness import Bench, Goal, Row, Stat, frameworks, measure, optional_module

COLS = 1024


def make_arrays(total: int, nvars: int, seed: int = 0) -> dict[str, np.ndarray]:
    rows = max(1, total // nvars // 4 // COLS)
    rng = np.random.default_rng(seed)
    return {f"var_{i}": rng.random((rows, COLS), dtype=np.float32) for i in range(nvars)}


def build_model(tf: Any, arrays: dict[str, np.ndarray]) -> tuple[Any, Any, list]:
    """(session, saver or a "missing" reason, variables) holding `arrays` as initialized variables."""
    g = tf.Graph()
    with g.as_default():
        variables, loads, feeds = [], [], {}
        for name, arr in arrays.items():
            v = tf.Variable(tf.zeros(arr.shape), name=name)
            ph = tf.placeholder(tf.float32, arr.shape)
            variables.append(v)
            loads.append(tf.assign(v, ph).op)
            feeds[ph] = arr
        init = tf.global_variables_initializer()
        saver_cls = getattr(tf.train, "Saver", None)
        saver = saver_cls(variables) if saver_cls else "missing: graphvar Saver"
    sess = tf.Session(graph=g)
    sess.run(init)
    sess.run(loads, feed_dict=feeds)
    return sess, saver, variables


def fsync_paths(pattern: str) -> None:
    for path in glob.glob(pattern):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove(pattern: str) -> None:
    for path in glob.glob(pattern):
        os.remove(path)


def raw_write(path: str, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb", buffering=0) as f:
        for arr in arrays.values():
            f.write(memoryview(arr).cast("B"))
        os.fsync(f.fileno())


def raw_readinto(path: str, buffers: dict[str, np.ndarray]) -> None:
    with open(path, "rb", buffering=0) as f:
        for buf in buffers.values():
            f.readinto(memoryview(buf).cast("B"))


def writers(ctx: Any, arrays: dict[str, np.ndarray], where: str) -> dict[str, dict]:
    """{name: {"save": Bench, "restore": Bench} or a "missing" reason} for every saver and the limits."""
    out: dict[str, Any] = {}
    for name, tf in frameworks(ctx).items():
        if isinstance(tf, str):
            out[name] = tf
            continue
        sess, saver, _ = build_model(tf, arrays)
        ctx.closers.append(sess.close)
        if isinstance(saver, str):
            out[name] = saver
            continue
        prefix = os.path.join(where, name, "model.ckpt")
        os.makedirs(os.path.dirname(prefix), exist_ok=True)

        def save(saver=saver, sess=sess, prefix=prefix) -> None:
            saver.save(sess, prefix, write_meta_graph=False)
            fsync_paths(prefix + ".*")

        out[name] = {
            "save": Bench(save, setup=lambda p=prefix: remove(p + ".*")),
            "restore": Bench(lambda saver=saver, sess=sess, prefix=prefix: saver.restore(sess, prefix)),
        }
    st = optional_module("safetensors.numpy") if ctx.references else "skipped (--graphvar-only)"
    if isinstance(st, str):
        out["safetensors"] = st
    else:
        path = os.path.join(where, "model.safetensors")

        def st_save() -> None:
            st.save_file(arrays, path)
            fsync_paths(path)

        out["safetensors"] = {"save": Bench(st_save, setup=lambda: remove(path)),
                              "restore": Bench(lambda: st.load_file(path))}  # fmt: skip
    raw, buffers = os.path.join(where, "raw.bin"), {k: np.empty_like(a) for k, a in arrays.items()}
    out["limit: plain write+fsync"] = {"save": Bench(lambda: raw_write(raw, arrays), setup=lambda: remove(raw))}
    out["limit: plain readinto"] = {"restore": Bench(lambda: raw_readinto(raw, buffers))}
    return out


def save_restore_stats(ctx: Any, total: int, label: str) -> tuple[dict, dict]:
    where = os.path.join(ctx.tmpdir, label)
    os.makedirs(where, exist_ok=True)
    arrays = make_arrays(total, ctx.size("saver_vars"))
    w = writers(ctx, arrays, where)

    def pick(what: str) -> dict:
        return {k: (v if isinstance(v, str) else v[what]) for k, v in w.items() if isinstance(v, str) or what in v}

    saves = measure(pick("save"), reps=ctx.io_reps, number=1)
    restores = measure(pick("restore"), reps=ctx.io_reps, number=1)
    ctx.closers.append(lambda: shutil.rmtree(where, ignore_errors=True))
    return saves, restores


def _mib(n: int) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


def case_saver(ctx: Any) -> list[Row]:
    total, nvars = ctx.size("saver_bytes"), ctx.size("saver_vars")
    saves, restores = save_restore_stats(ctx, total, "saver")
    tag = f"{_mib(total)} in {nvars} variables"
    save_goals = [Goal("limit: plain write+fsync", ">=", 0.9, "≥ 0.9× plain write"), Goal("tf", ">=", 1.4, "≥ 1.4× TF"),
                  Goal("safetensors", ">", 1.0, "> safetensors save_file")]  # fmt: skip
    restore_goals = [Goal("limit: plain readinto", ">=", 0.6, "≥ 0.6× plain readinto (all-or-nothing: CRCs verified first)"),
                     Goal("tf", ">=", 1.3, "≥ 1.3× TF"), Goal("safetensors", ">", 1.0, "> safetensors load_file")]  # fmt: skip
    return [
        Row("saver", f"Saver save, {tag}", "rate", saves.pop("graphvar"), saves, amount=total, unit="GB/s",
            goals=save_goals),
        Row("saver", f"Saver restore, {tag}", "rate", restores.pop("graphvar"), restores, amount=total, unit="GB/s",
            goals=restore_goals),
    ]  # fmt: skip


# ---- peak memory, one fresh subprocess per measurement (benchmarks/memprobe.py) ----
PROBES = {
    "save": [("graphvar", "gv_save"), ("tf", "tf_save"), ("safetensors", "st_save"),
             ("limit: plain write+fsync", "raw_write")],
    "restore": [("graphvar", "gv_restore"), ("tf", "tf_restore"), ("safetensors", "st_load"),
                ("limit: plain readinto", "raw_read")],
}  # fmt: skip


def probe(what: str, total: int, nvars: int, where: str) -> Stat | str:
    args = json.dumps({"what": what, "total": total, "nvars": nvars, "where": where})
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.memprobe", args], cwd=root, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"error: {tail[:80]}"
    res = json.loads(lines[-1])
    if "missing" in res:
        return res["missing"]
    return Stat(res["extra"], res["extra"])


def case_saver_memory(ctx: Any) -> list[Row]:
    if not ctx.memory:
        return [Row("saver_memory", "peak extra RSS", "memory", "skipped (--no-memory)")]
    total, nvars = ctx.size("saver_bytes"), ctx.size("saver_vars")
    where = os.path.join(ctx.tmpdir, "memory")
    os.makedirs(where, exist_ok=True)
    ctx.closers.append(lambda: shutil.rmtree(where, ignore_errors=True))
    rows = []
    for phase in ("save", "restore"):  # save first: restore probes read the files the save probes wrote
        stats = {}
        for name, what in PROBES[phase]:
            refs_off = not ctx.references and name != "graphvar" and not name.startswith("limit")
            stats[name] = "skipped (--graphvar-only)" if refs_off else probe(what, total, nvars, where)
        rows.append(Row("saver_memory", f"peak extra RSS, {phase} of {_mib(total)}", "memory", stats.pop("graphvar"),
                        stats, goals=[Goal(None, "<=", 64, "≤ 64 MiB")]))  # fmt: skip
    return rows


CASES = {"saver": case_saver, "saver_memory": case_saver_memory}
