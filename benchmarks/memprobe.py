"""One peak-memory measurement in a fresh process: `python -m benchmarks.memprobe '<json>'`.

Setup (imports, model with initialized variables, buffers touched) happens first; then the
kernel's peak-RSS mark is reset (/proc/self/clear_refs "5", else a 1 ms RSS sampler), the
operation runs, and the line printed is {"extra": peak RSS - RSS after setup, ...} in bytes.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from benchmarks import cases_saver as cs
from benchmarks.harness import optional_module, tf_v1


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def peak_during(op: Callable[[], Any]) -> tuple[int, int, str]:
    """(RSS after setup, peak RSS while `op` ran, method)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _status("VmRSS")
        op()
        return base, _status("VmHWM"), "VmHWM after clear_refs"
    except OSError:
        pass
    import psutil

    proc, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.001)

    base = proc.memory_info().rss
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    op()
    done.set()
    t.join()
    return base, max(peak[0], proc.memory_info().rss), "psutil sampling (1 ms)"


def setup(what: str, total: int, nvars: int, where: str) -> Callable[[], Any] | str:
    """The operation to measure, with everything it needs already in memory."""
    family, action = what.split("_", 1)
    if family in ("gv", "tf"):
        tf = tf_v1() if family == "tf" else __import__("graphvar")
        if isinstance(tf, str):
            return tf
        sess, saver, _ = cs.build_model(tf, cs.make_arrays(total, nvars))
        if isinstance(saver, str):
            return saver
        prefix = os.path.join(where, "graphvar" if family == "gv" else "tf", "model.ckpt")
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
        if action == "save":
            return lambda: (saver.save(sess, prefix, write_meta_graph=False), cs.fsync_paths(prefix + ".*"))
        return lambda: saver.restore(sess, prefix)
    if family == "st":
        st = optional_module("safetensors.numpy")
        if isinstance(st, str):
            return st
        path = os.path.join(where, "model.safetensors")
        if action == "save":
            arrays = cs.make_arrays(total, nvars)
            return lambda: (st.save_file(arrays, path), cs.fsync_paths(path))
        return lambda: st.load_file(path)
    path = os.path.join(where, "raw.bin")
    arrays = cs.make_arrays(total, nvars)
    if action == "write":
        return lambda: cs.raw_write(path, arrays)
    return lambda: cs.raw_readinto(path, arrays)  # arrays are touched: readinto adds no pages


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    op = setup(args["what"], args["total"], args["nvars"], args["where"])
    if isinstance(op, str):
        print(json.dumps({"missing": op}))
        return 0
    held: list = []
    base, peak, method = peak_during(lambda: held.append(op()))
    print(json.dumps({"extra": max(0, peak - base), "base": base, "peak": peak, "method": method}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
