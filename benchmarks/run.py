"""`python -m benchmarks`: runs the cases, prints one table, writes JSON.

python -m benchmarks --quick            # whole run under two minutes on a 2-core machine
python -m benchmarks                    # full sizes (1 GiB checkpoints, 64M-element initializers)
python -m benchmarks --only run_variable --only init_zeros
python -m benchmarks --smoke --graphvar-only   # tiny sizes, for the harness's own test
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks import (
    cases_conv,
    cases_gpu,
    cases_graph_def,
    cases_growth,
    cases_merge,
    cases_plan,
    cases_random,
    cases_saver,
    cases_saver_small,
    cases_session,
    cases_train,
)
from benchmarks.harness import Row
from benchmarks.report import format_table, machine_info, markdown_table

CASES: dict[str, Callable[[Any], list[Row]]] = {
    **cases_session.CASES,
    **cases_random.CASES,
    **cases_saver.CASES,
    **cases_saver_small.CASES,
    **cases_growth.CASES,
    **cases_gpu.CASES,
    **cases_conv.CASES,
    **cases_train.CASES,
    **cases_merge.CASES,
    **cases_plan.CASES,
    **cases_graph_def.CASES,
}

# name: (smoke, quick, full)
SIZES = {
    "init_elems": (4096, 8 << 20, 64 << 20),
    "saver_bytes": (1 << 20, 128 << 20, 1 << 30),
    "saver_vars": (8, 8, 8),
    "saver_small_vars": (100, 10_000, 10_000),
    "growth_ops": ((10, 100), (10, 100, 1000), (10, 100, 1000, 10000)),
    "growth_init": ((1000,), (1000, 100_000, 1 << 20), (1000, 100_000, 1 << 20, 16 << 20, 64 << 20)),
    "growth_save": ((1 << 20,), (1 << 20, 16 << 20), (1 << 20, 16 << 20, 128 << 20, 1 << 30)),
    "gpu_elems": (1 << 16, 64 << 20, 256 << 20),
}
DEFAULT_JSON = os.path.join(os.path.dirname(__file__), "out", "results.json")


@dataclasses.dataclass
class Context:
    mode: str  # "smoke", "quick" or "full"
    references: bool
    tmpdir: str
    memory: bool = True
    closers: list = dataclasses.field(default_factory=list)

    @property
    def reps(self) -> int:
        return {"smoke": 2, "quick": 5, "full": 9}[self.mode]

    @property
    def io_reps(self) -> int:
        return {"smoke": 1, "quick": 3, "full": 3}[self.mode]

    @property
    def target_s(self) -> float:
        return {"smoke": 0.002, "quick": 0.02, "full": 0.1}[self.mode]

    def size(self, name: str) -> Any:
        return SIZES[name][("smoke", "quick", "full").index(self.mode)]

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:
                pass
        self.closers.clear()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--quick", action="store_true", help="small sizes; whole run under two minutes")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (tests the harness, figures meaningless)")
    p.add_argument("--only", action="append", metavar="NAME", help=f"run only these cases: {', '.join(CASES)}")
    p.add_argument("--json", default=DEFAULT_JSON, metavar="PATH", help="where to write results (default %(default)s)")
    p.add_argument("--graphvar-only", action="store_true", help="do not import or time the references")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    p.add_argument("--tmpdir", default=None, help="where checkpoint files go (default: benchmarks/out/tmp, same disk)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    return p.parse_args(argv)


def run_cases(ctx: Context, names: list[str], log: Callable[[str], None] = print) -> list[Row]:
    """Runs each case; a case that fails is reported as a row saying so, not a crash."""
    rows: list[Row] = []
    for name in names:
        t0 = time.perf_counter()
        try:
            got = CASES[name](ctx)
        except Exception as e:
            traceback.print_exc()
            got = [Row(name, name, "time", f"error: {type(e).__name__}: {e}")]
        finally:
            ctx.close()
        rows.extend(got)
        log(f"  {name}: {time.perf_counter() - t0:.1f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(CASES))
        return 0
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s) {unknown}; choose from {list(CASES)}", file=sys.stderr)
        return 2
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    base = args.tmpdir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "tmp")
    os.makedirs(base, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix="bench-", dir=base)
    ctx = Context(mode, references=not args.graphvar_only, tmpdir=tmpdir, memory=not args.no_memory)
    t0 = time.perf_counter()
    print(f"graphvar benchmarks, {mode} mode, {len(names)} case(s); files in {tmpdir}", flush=True)
    try:
        rows = run_cases(ctx, names, log=lambda s: print(s, flush=True))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    machine = machine_info()
    print()
    print(format_table(rows, machine, mode, elapsed))
    _write_json(args.json, rows, machine, mode, elapsed)
    return 0


def _write_json(path: str, rows: list[Row], machine: dict, mode: str, elapsed: float) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc = {
        "mode": mode,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 2),
        "python": platform.python_version(),
        "machine": machine,
        "rows": [r.to_json() for r in rows],
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    md = os.path.splitext(path)[0] + ".md"
    with open(md, "w") as f:
        f.write(f"{mode} mode, {doc['date']}, {elapsed:.0f} s\n\n{markdown_table(rows)}\n")
    print(f"results written to {path} and {md}")
