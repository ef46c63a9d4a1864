"""Registers, stack and spills of every CUDA kernel, from ptxas itself (nvcc --resource-usage).

    python ci/kernel_resources.py [--arch 80 --arch 90] [--json OUT]

Compiles each ``kernels/*.cu`` for every architecture in one nvcc call, warnings as errors, with
the options CuPy's RawModule uses (``-ftz=true``), prints one line per kernel and architecture and
exits 1 if a kernel does not compile or spills registers to local memory. ``cupy_backend.resident_blocks`` turns the register count into the launch grid at run
time (from the loaded function's own ``num_regs``); the table printed here is what to expect.
Used by ci/check_kernels.sh and tests/kernels/test_nvcc.py.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

KERNELS = pathlib.Path(__file__).resolve().parents[1] / "kernels"
_ENTRY = re.compile(r"Compiling entry function '(\w+)' for '(sm_\d+)'")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_REGS = re.compile(r"Used (\d+) registers")


def parse(ptxas_output: str) -> dict[str, dict[str, dict[str, int]]]:
    """ "sm_XY" -> kernel -> {"registers", "stack", "spill_stores", "spill_loads"} from ptxas -v output."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    current = None
    for line in ptxas_output.splitlines():
        if m := _ENTRY.search(line):
            kernels = table.setdefault(m.group(2), {})
            current = kernels.setdefault(m.group(1), {"registers": 0, "stack": 0, "spill_stores": 0, "spill_loads": 0})
        elif current is not None and (m := _FRAME.search(line)):
            current.update(stack=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
        elif current is not None and (m := _REGS.search(line)):
            current["registers"] = int(m.group(1))
            current = None  # the entry's report ends with its register line
    return table


def report(source: pathlib.Path, archs: list[str], nvcc: str = "nvcc") -> dict[str, dict[str, dict[str, int]]]:
    """ptxas's resources of every entry of ``source``, per ``sm_<arch>`` (one nvcc call, -Werror).

    Raises:
      RuntimeError: nvcc failed (a compile error or a warning), with its output.
    """
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [nvcc, "--std=c++17", "-Werror", "all-warnings", f"-I{KERNELS}", "-ftz=true", "--resource-usage"]
        for arch in archs:
            cmd += ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
        res = subprocess.run(cmd + ["-c", str(source), "-o", f"{tmp}/k.o"], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"nvcc failed on {source.name}:\n{res.stdout}{res.stderr}")
    return parse(res.stdout + res.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", action="append", help="compute capability without the dot (default: 80, 90)")
    ap.add_argument("--json", help="also write {arch: {kernel: resources}} here")
    args = ap.parse_args(argv)
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("kernel_resources: nvcc not found, skipping")
        return 0
    table: dict[str, dict[str, dict[str, int]]] = {}
    spills = []
    for source in sorted(KERNELS.glob("*.cu")):
        for arch, kernels in sorted(report(source, args.arch or ["80", "90"], nvcc).items()):
            for name, r in sorted(kernels.items()):
                table.setdefault(arch, {})[name] = r
                flag = "  SPILLS" if r["spill_stores"] or r["spill_loads"] else ""
                print(f"{arch} {source.name:10} {name:28} {r['registers']:3} registers  {r['stack']:3} B stack  "
                      f"spill {r['spill_stores']}/{r['spill_loads']} B{flag}")  # fmt: skip
                if flag:
                    spills.append(f"{name} ({arch})")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(table, indent=1, sort_keys=True))
    if spills:
        print(f"kernel_resources: register spills in {', '.join(spills)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
