"""A plan's steps as one straight-line Python function: no per-step loop, closure or slot lookup.

For the steps ``v1 = Tanh(v0); v2 = Add(v1, v1)`` with ``v2`` fetched it writes::

    def run(env, ctx):
        v0 = env[0]
        try:
            v1 = u0(v0)                 # a ufunc kernel is called directly
            v2 = u1(v1, v1, v1)         # liveness: v1 is dead after this step: its buffer is the output
            del v1
        except Exception as e:
            ...                         # the line number names the failing step (plan.failure)
        env[2] = v2

Other kernels are called as ``k3(s3, (args), ctx)``; a variable read inlines ``slot.value`` (with
``slot.read(name)`` raising FailedPreconditionError when it is None, and ordering the current stream
after a device variable's last write: ``slot.ready``); a move between devices calls
the pair of backends. Liveness: a value is deleted after its last reader unless it is fetched; a
ufunc result may overwrite a dead input only when that input was made by a ufunc in this run (a
fresh array no variable, constant, feed or fetch shares), every reader of it is a ufunc (none keeps
an alias), its dtype is the result's, and its shape is the result's (statically, or checked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphvar.plan import Input, Step, failure


def build(steps: list[Step], fetched: set[int], liveness: bool = True) -> Callable[[list, Any], None]:
    """The function ``run(env, ctx)`` that executes `steps` once, leaving the `fetched` slots in env."""
    produced = {s.slot: s for s in steps}
    last_reader: dict[int, int] = {}
    readers: dict[int, list[Step]] = {}
    for n, s in enumerate(steps):
        for i in s.inputs:
            last_reader[i.slot] = n
            readers.setdefault(i.slot, []).append(s)
    loaded = sorted({i.slot for s in steps for i in s.inputs if i.slot not in produced})
    ns: dict[str, Any] = {}
    body, lines = [f"    v{k} = env[{k}]" for k in loaded] + ["    try:"], {}
    for n, s in enumerate(steps):
        if liveness:
            s.inplace = _inplace_position(s, n, produced, readers, last_reader, fetched)
        lines[len(body) + 2] = s  # +2: the def line, and line numbers count from 1
        call = _call(s, n, ns)
        keep = s.slot in fetched or s.slot in last_reader
        body.append(f"        v{s.slot} = {call}" if keep else f"        {call}")
        dead = [
            i.slot for i in s.inputs if last_reader.get(i.slot) == n and i.slot in produced and i.slot not in fetched
        ]
        if liveness and dead:
            body.append(f"        del {', '.join(f'v{k}' for k in dict.fromkeys(dead))}")
    body.append("        pass")
    body += ["    except Exception as e:", "        err = fail(e)", "        if err is e:", "            raise",
             "        raise err from e"]  # fmt: skip
    body += [f"    env[{k}] = v{k}" for k in sorted(fetched) if k in produced]
    ns["fail"] = lambda e: failure(lines[_lineno(e)], e)
    source = "def run(env, ctx):\n" + "\n".join(body) + "\n"
    exec(compile(source, "<graphvar plan>", "exec"), ns)  # our own text: names of slots and namespace entries
    run = ns["run"]
    run.source = source
    return run


def _lineno(e: Exception) -> int:
    tb = e.__traceback__  # the first entry is `run` itself, at the line of the failing step
    return tb.tb_lineno if tb is not None else -1


def _call(s: Step, n: int, ns: dict) -> str:
    args = [_arg(i, n, j, ns) for j, i in enumerate(s.inputs)]
    ufunc = getattr(s.kernel, "ufunc", None)
    if ufunc is None or s.fill_step is not None:
        ns[f"k{n}"], ns[f"s{n}"] = s.kernel, s
        return f"k{n}(s{n}, ({''.join(a + ', ' for a in args)}), ctx)"
    ns[f"u{n}"] = ufunc
    plain = f"u{n}({', '.join(args)})"
    if s.inplace is None:
        return plain
    into = args[s.inplace]
    inplace = f"u{n}({', '.join(args)}, {into})"  # out= as a positional argument: a cheaper ufunc call
    guard = _shape_guard(s)
    return inplace if guard is None else f"({inplace} if {guard} else {plain})"


def _arg(i: Input, n: int, j: int, ns: dict) -> str:
    expr = f"v{i.slot}" + (f"[{i.index}]" if i.index is not None else "")
    if i.read is not None:
        # a device variable (ready set) goes through read(): the current stream waits for its last write
        expr = f"(x if (x := {expr}.value) is not None and {expr}.ready is None else {expr}.read({i.read!r}))"
    if i.move is not None:
        src, dst = i.move
        ns[f"m{n}_{j}"] = lambda x, src=src, dst=dst: dst.from_host(src.to_host(x)) if x is not None else x
        expr = f"m{n}_{j}({expr})"
    return expr


def _inplace_position(s: Step, n: int, produced: dict, readers: dict, last_reader: dict, fetched: set) -> int | None:
    if getattr(s.kernel, "ufunc", None) is None or s.fill_step is not None or len(s.op._outputs) != 1:
        return None
    out = s.op._outputs[0]
    for p, i in enumerate(s.inputs):
        src = produced.get(i.slot)
        if (not i.plain or src is None or last_reader.get(i.slot) != n or i.slot in fetched
                or getattr(src.kernel, "ufunc", None) is None or len(src.op._outputs) != 1
                or not all(getattr(r.kernel, "ufunc", None) is not None for r in readers[i.slot])):  # fmt: skip
            continue
        t = src.op._outputs[0]
        if t.dtype != out.dtype or t.shape.ndims is None or t.shape.ndims < 1:
            continue
        s.inplace = p
        if len(s.inputs) == 1 or _shape_guard(s) is not False:
            return p
    return None


def _shape_guard(s: Step) -> Any:
    """None: the in-place input always has the result's shape; a run-time test as text; False: never safe."""
    if len(s.inputs) == 1:
        return None
    p = s.inplace
    a = s.op._inputs[p].shape
    out = s.op._outputs[0].shape
    if a.is_fully_defined() and out.is_fully_defined() and a.as_tuple() == out.as_tuple():
        return None
    others = [i for q, i in enumerate(s.inputs) if q != p]
    if len(others) != 1 or not others[0].plain:
        return False
    b = s.op._inputs[1 - p].shape
    if a.ndims is None or b.ndims is None or a.ndims < b.ndims:
        return False
    # b's shape equal to a's trailing dims: broadcasting b against a gives exactly a's shape
    return f"v{s.inputs[p].slot}.shape[{a.ndims - b.ndims}:] == v{others[0].slot}.shape"
