"""The printed table and the machine description."""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata

from benchmarks.harness import Row, Stat

FOOTNOTES = [
    "advantage = graphvar's edge on medians: > 1 means graphvar is faster / has higher throughput / uses less memory.",
    "values: median (min over repetitions; for throughput, the best). References and graphvar are timed "
    "interleaved, round by round, in one process.",
    "save: fsync of the written files is inside the timing for graphvar, TF, safetensors and the plain write. "
    "TF saves with write_meta_graph=False.",
    "restore: files are read from the page cache (just written); the limit is a plain readinto of the same bytes "
    "into preallocated buffers.",
    "memory: peak RSS in a fresh subprocess per case, minus the RSS after setup (variables initialized).",
]


def fmt_value(row: Row, stat: Stat | str) -> str:
    if not isinstance(stat, Stat):
        return stat
    med, best = row.display_value(stat), row.display_value(stat, best=True)
    if row.kind == "time":
        scale, unit = (1e6, "µs") if stat.median < 1e-3 else (1e3, "ms") if stat.median < 1 else (1, "s")
        return f"{med * scale:.3g} {unit} (min {best * scale:.3g})"
    if row.kind == "rate":
        return f"{_num(med)} {row.unit} (best {_num(best)})"
    return f"{med:.1f} MiB"


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return "inf" if r == float("inf") else f"{r:.2f}×"


def table_lines(rows: list[Row]) -> list[list[str]]:
    out = [["figure", "graphvar", "reference", "reference value", "advantage", "goal", "met"]]
    for row in rows:
        refs = list(row.refs.items()) or [("", "")]
        goals = {g.ref: g for g in row.goals}
        absolute = [g for g in row.goals if g.ref is None]
        for i, (name, stat) in enumerate(refs):
            goal = goals.get(name) or (absolute[0] if absolute and i == 0 else None)
            met = goal.check(row) if goal else None
            out.append([
                row.figure if i == 0 else "",
                fmt_value(row, row.graphvar) if i == 0 else "",
                name,
                fmt_value(row, stat) if name else "",
                fmt_ratio(row.ratio(name)) if name else "",
                goal.text if goal else "",
                {True: "met", False: "NOT MET", None: "n/a" if goal else ""}[met],
            ])  # fmt: skip
    return out


def markdown_table(rows: list[Row]) -> str:
    lines = table_lines(rows)
    md = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    md += ["| " + " | ".join(c.replace("|", "/") for c in line) + " |" for line in lines[1:]]
    return "\n".join(md)


def format_table(rows: list[Row], machine: dict, mode: str, elapsed: float) -> str:
    lines = table_lines(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [f"== graphvar benchmarks ({mode} mode, {elapsed:.0f} s) on {machine['cpu']}, {machine['cores']} cores, "
            f"{machine['ram_gib']} GiB RAM, {machine['gpu']} =="]  # fmt: skip
    for k, line in enumerate(lines):
        text.append("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if k == 0:
            text.append("  ".join("-" * w for w in widths))
    notes = [r for r in rows if r.note]
    text += [""] + [f"* {n}" for n in FOOTNOTES] + [f"* {r.figure}: {r.note}" for r in notes]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    text.append(f"* versions: {versions}")
    return "\n".join(text)


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = 0.0
    try:
        with open("/proc/meminfo") as f:
            ram = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) / 2**20
    except (OSError, StopIteration):
        pass
    versions = {}
    for pkg in ("graphvar", "numpy", "tensorflow-cpu", "tensorflow", "safetensors", "psutil", "torch", "cupy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    gpu = "no GPU"
    if shutil.which("nvidia-smi"):
        gpu = os.popen("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null").read().strip() or gpu
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(ram, 1), "gpu": gpu,
            "platform": platform.platform(), "versions": versions}  # fmt: skip
