"""Passes over a plan's steps (data in, data out), run once per compiled plan, in this order:

1. ``fuse_fills``   Assign(var, generator) with no other reader: the generator writes into the variable.
2. ``fold``         constant folding: steps whose inputs are all constants (no variable, placeholder,
                    feed or stateful op upstream) are computed now, once, and their values preset in
                    the env every run starts from (cached per Session and device).
3. ``identities``   identity/read elimination: readers of an ``identity`` op read its input directly
                    (a variable's `<name>/read` becomes a read in its consumer, with the same name in
                    the uninitialized error).
4. ``liveness``     (in `plan_codegen`) each intermediate is released after its last reader; an
                    elementwise result is written into a dead input's buffer where that is safe.

Each pass only reads op-definition flags (`OpDef`), never op types. `ALL` is every pass; tests run
plans with any subset and compare the results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphvar.plan import Compiler, Input, RunContext, Step

ALL = frozenset({"fuse_fills", "fold", "identities", "liveness"})
FOLD_MAX_BYTES = 10 << 20  # TF's constant folding limit (grappler's kMaxConstantSize): bigger values stay steps


def run_passes(c: Compiler, targets: list, passes: frozenset) -> None:
    if "fuse_fills" in passes:
        fuse_fills(c, targets)
    if "fold" in passes:
        fold(c, targets)
    if "identities" in passes and not c.lazy:
        identities(c, targets)


def _keep(c: Compiler, drop: set[int]) -> None:
    for steps in c.step_lists:
        steps[:] = [s for s in steps if id(s) not in drop]


def fuse_fills(c: Compiler, targets: list) -> None:
    """Assign(var, generator) with no other reader of the generator: generate into the variable.

    Fused are ops with a ``fill_target`` input made by a ``fills`` generator of a static shape
    and no inputs (its kernel runs with no arguments, into the variable's buffer), on the same
    backend, read by nothing else and not fetched itself.
    """
    readers: dict[int, int] = {}
    for s in c.steps_by_op.values():
        for i in s.inputs:
            readers[i.slot] = readers.get(i.slot, 0) + 1
    fused: set[int] = set()
    for s in c.steps_by_op.values():
        position = s.op_def.fill_target
        if position is None:
            continue
        src = s.op._inputs[position]
        gen = c.steps_by_op.get(src.op) if src not in c.feed_slots else None
        if (gen is None or not gen.op_def.fills or readers.get(gen.slot, 0) != 1
                or gen.op in targets or gen.backend is not s.backend or not _static_generator(gen.op)):  # fmt: skip
            continue
        s.fill_step, s.kernel = gen, c.session._fill_assign_kernel(s.backend)
        fused.add(id(gen))
    _keep(c, fused)


def _static_generator(op: Any) -> bool:
    """A generator whose kernel needs no input values: no inputs, one output of a fully known shape
    (a run-time shaped Fill or random op, with a ``dims`` input, is computed as an ordinary step)."""
    return not op._inputs and len(op._outputs) == 1 and op._outputs[0].shape.is_fully_defined()


# ---- constant folding ----
def _foldable(c: Compiler, s: Step, known: dict[int, Any]) -> bool:
    d = s.op_def
    if d.constant:
        return True
    if (d.stateful or d.variable or d.ref_output or d.ref_inputs or d.lazy_inputs or d.fills or s.fill_step
            or not s.inputs or s.op._control_inputs):  # fmt: skip
        return False
    if any(i.slot not in known or i.read is not None for i in s.inputs):
        return False
    return all(_small(t) for t in s.op._outputs)


def _small(t: Any) -> bool:
    if not t.shape.is_fully_defined():
        return False
    itemsize = np.dtype(t.dtype.np).itemsize if t.dtype.np is not None else 8
    return int(np.prod(t.shape.as_tuple(), dtype=np.int64)) * itemsize <= FOLD_MAX_BYTES


def fold(c: Compiler, targets: list) -> None:
    """Computes every step whose inputs are all constants, once per Session and device."""
    folded: dict[int, Any] = {}  # slot -> value (the whole kernel result: a tuple for several outputs)
    known = dict(c.constants)  # what an input may be read from now: constants, variables, folded values
    cache = c.session._folded
    ctx = RunContext(c.session, [])
    order = [s for steps in c.step_lists for s in steps]
    for s in dict.fromkeys(order):  # dependency order, each step once
        if not _foldable(c, s, known):
            continue
        key = (s.op, id(s.backend))
        if key not in cache:
            if s.slot in c.constants:
                cache[key] = c.constants[s.slot]
            else:
                try:
                    cache[key] = s.kernel(s, [i.value(known, ctx) for i in s.inputs], ctx)
                except Exception:  # leave it to run time, where it raises as usual
                    continue
        folded[s.slot] = known[s.slot] = cache[key]
    if not folded:
        return
    needed = {i.slot for s in c.steps_by_op.values() if s.slot not in folded for i in s.inputs}
    needed |= {c.steps_by_op[op].slot for op in targets if op in c.steps_by_op}
    for slot, value in folded.items():
        if slot in needed and slot not in c.constants:
            c.constants[slot] = value
            c.folded.add(slot)
    _keep(c, {id(s) for s in c.steps_by_op.values() if s.slot in folded})


# ---- identity / read elimination ----
def identities(c: Compiler, targets: list) -> None:
    """Readers of an ``identity`` op (Identity, StopGradient) read its input directly."""
    controlling = {d for s in c.steps_by_op.values() for d in s.op._control_inputs}
    by_slot: dict[int, Input] = {}
    live = {id(s) for steps in c.step_lists for s in steps}
    for s in c.steps_by_op.values():
        if (id(s) in live and s.op_def.identity and s.op not in targets and s.op not in controlling
                and not s.op._control_inputs and len(s.inputs) == 1 and s.inputs[0].move is None
                and s.inputs[0].lazy is None):  # fmt: skip
            by_slot[s.slot] = s.inputs[0]
    if not by_slot:
        return
    for s in c.steps_by_op.values():
        s.inputs = [_through(i, by_slot) for i in s.inputs]
    _keep(c, {id(s) for s in c.steps_by_op.values() if s.slot in by_slot})


def _through(i: Input, by_slot: dict[int, Input]) -> Input:
    while i.slot in by_slot and i.index is None and i.read is None and i.lazy is None:
        src = by_slot[i.slot]  # the identity's own input: same device, so only the reader's move remains
        i = Input(src.slot, src.index, src.read, i.move)
    return i
