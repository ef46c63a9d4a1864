"""Plans: the part of the graph one `Session.run` needs, compiled to a flat list of steps.

Compiling walks the graph once; running is the short loop in `execute`: each step reads
its input slots, applies its fix-ups (read a variable, move between devices), calls its
kernel and stores the result in its own slot. A slot that is already filled is not run
again, so every op runs at most once per run, even when a lazily computed initial value
(`initialized_value()`) shares ops with the main plan.
"""

from __future__ import annotations

import logging
import operator
from typing import Any

from graphvar import errors
from graphvar.framework.op_registry import get_op_def
from graphvar.framework.ops import Operation, Tensor

log = logging.getLogger("graphvar")
UNSET = object()


class Step:
    """One op in a plan: kernel, input slots, fix-ups, output slot."""

    __slots__ = ("kernel", "op", "attrs", "inputs", "gather", "fixups", "slot", "backend", "sub", "fill_step", "extra")

    def __init__(self, op: Operation, kernel: Any, backend: Any, slot: int) -> None:
        self.op = op
        self.attrs = op._attrs
        self.kernel = kernel
        self.backend = backend
        self.slot = slot
        self.inputs: list[int] = []
        self.gather: Any = None  # env -> input values (None: no inputs)
        self.fixups: tuple = ()
        self.sub: tuple | None = None  # (steps, slot) of a lazily computed input
        self.fill_step: Step | None = None  # generator fused into this Assign-like op (OpDef.fill_target)
        self.extra: Any = None


class RunContext:
    __slots__ = ("session", "env")

    def __init__(self, session: Any, env: list) -> None:
        self.session = session
        self.env = env


def execute(steps: list[Step], env: list, ctx: RunContext) -> None:
    """Runs the steps in order; the loop every `Session.run` spends its time in."""
    for step in steps:
        if env[step.slot] is UNSET:
            args = step.gather(env) if step.gather is not None else ()
            if step.fixups:
                args = list(args)
                for k, fix in step.fixups:
                    args[k] = fix(args[k], ctx)
            try:
                env[step.slot] = step.kernel(step, args, ctx)
            except errors.OpError:
                raise
            except Exception as e:
                op = step.op
                raise errors.InvalidArgumentError(None, op, f"{op.name} ({op.type}): {type(e).__name__}: {e}") from e


class Compiler:
    """Turns (fetched elements, fed tensors) into steps for one Session."""

    def __init__(self, session: Any, feeds: list[Tensor]) -> None:
        self.session = session
        self.slots: dict[Any, int] = {}
        self.feed_slots = {t: self._new_slot(("feed", t)) for t in feeds}
        self.steps_by_op: dict[Operation, Step] = {}
        self.step_lists: list[list[Step]] = []
        self.constants: dict[int, Any] = {}  # slot -> value preset in every run's env (consts, variables)

    def _new_slot(self, key: Any) -> int:
        self.slots[key] = len(self.slots)
        return self.slots[key]

    def slot_of(self, t: Tensor) -> int:
        return self.feed_slots.get(t, self.slots.get(t.op, -1))

    def compile(self, targets: list[Operation]) -> list[Step]:
        """Steps for `targets` and everything they need, in dependency order."""
        steps = self._compile_list(targets)
        self._fuse_fills(targets)
        return steps

    def _compile_list(self, targets: list[Operation]) -> list[Step]:
        steps: list[Step] = []
        self.step_lists.append(steps)
        for op in self._toposort(targets):
            step = self.steps_by_op.get(op) or self._step(op)
            if step.slot not in self.constants:
                steps.append(step)
        return steps

    def env_template(self) -> list:
        """The env a run starts from: constants and variable refs filled in, every other slot UNSET."""
        env = [UNSET] * len(self.slots)
        for slot, value in self.constants.items():
            env[slot] = value
        return env

    def _toposort(self, targets: list[Operation]) -> list[Operation]:
        order: list[Operation] = []
        seen: set[Operation] = set()
        stack: list[tuple[Operation, bool]] = [(op, False) for op in reversed(targets)]
        while stack:
            op, done = stack.pop()
            if done:
                order.append(op)
                continue
            if op in seen:
                continue
            seen.add(op)
            stack.append((op, True))
            lazy = get_op_def(op.type).lazy_positions(op)
            deps = [t.op for i, t in enumerate(op._inputs) if t not in self.feed_slots and i not in lazy]
            stack.extend((d, False) for d in reversed(deps + list(op._control_inputs)) if d not in seen)
        return order

    def _step(self, op: Operation) -> Step:
        backend = self.session._backend_for(op)
        kernel = backend.kernels.get(op.type)
        if kernel is None:
            backend, kernel = self.session._host_fallback(op, backend)
        step = Step(op, kernel, backend, self._new_slot(op))
        self.steps_by_op[op] = step
        op_def = get_op_def(op.type)
        ref_inputs, lazy = op_def.ref_inputs, op_def.lazy_positions(op)
        fixups = []
        for i, t in enumerate(op._inputs):
            if i in lazy:
                sub_steps = self._compile_list([t.op])
                step.inputs.append(self.slot_of(t))
                fixups.append((i, _lazy(sub_steps, self.slot_of(t))))
                continue
            step.inputs.append(self.slot_of(t))
            fix = self._fixup(t, step, ref_inputs == "all" or i in ref_inputs)
            if fix is not None:
                fixups.append((i, fix))
        step.fixups = tuple(fixups)
        step.gather = _gatherer(step.inputs)
        preset = self.session._prepare_step(step)
        if preset is not UNSET:
            self.constants[step.slot] = preset
        return step

    def _fixup(self, t: Tensor, step: Step, wants_ref: bool) -> Any:
        """How a consumer reads `t`: its output of a multi-output op, then `_read_fixup`."""
        fix = self._read_fixup(t, step, wants_ref)
        if len(t.op._outputs) < 2 or t in self.feed_slots:
            return fix
        i = t.value_index  # a multi-output kernel returns a tuple, one value per output
        if fix is None:
            return lambda x, ctx: x[i]
        return lambda x, ctx: fix(x[i], ctx)

    def _read_fixup(self, t: Tensor, step: Step, wants_ref: bool) -> Any:
        """How a consumer reads `t`: the variable itself, its value, and on which device."""
        fed = t in self.feed_slots
        is_ref = not fed and get_op_def(t.op.type).ref_output
        if wants_ref:
            if not is_ref:
                raise errors.InvalidArgumentError(
                    None, step.op, f"{step.op.name}: input {t.name!r} must be a variable (a ref), not a value"
                )
            return None
        src = self.session._host if fed else self.steps_by_op[t.op].backend if t.op in self.steps_by_op else None
        move = src is not None and src is not step.backend
        consumer, dst = step.op.name, step.backend
        if is_ref and move:
            return lambda slot, ctx: dst.from_host(slot.backend.to_host(slot.read(consumer)))
        if is_ref:
            return lambda slot, ctx: slot.read(consumer)
        if move:
            return lambda x, ctx: dst.from_host(src.to_host(x)) if x is not None else x
        return None

    def _fuse_fills(self, targets: list[Operation]) -> None:
        """Assign(var, generator) with no other reader of the generator: generate into the variable.

        Fused are ops with a ``fill_target`` input made by a ``fills`` generator of a static shape
        and no inputs (its kernel runs with no arguments, into the variable's buffer), on the same
        backend, read by nothing else and not fetched itself.
        """
        readers: dict[int, int] = {}
        for s in self.steps_by_op.values():
            for i in s.inputs:
                readers[i] = readers.get(i, 0) + 1
        fused: set[int] = set()
        for s in self.steps_by_op.values():
            position = get_op_def(s.op.type).fill_target
            if position is None:
                continue
            src = s.op._inputs[position]
            gen = self.steps_by_op.get(src.op) if src not in self.feed_slots else None
            if (gen is None or not get_op_def(gen.op.type).fills or readers.get(gen.slot, 0) != 1
                    or gen.op in targets or gen.backend is not s.backend or not _static_generator(gen.op)):  # fmt: skip
                continue
            s.fill_step, s.kernel = gen, self.session._fill_assign_kernel(s.backend)
            fused.add(id(gen))
        for steps in self.step_lists:
            steps[:] = [s for s in steps if id(s) not in fused]


def _gatherer(slots: list[int]) -> Any:
    """A fast env -> tuple of input values (itemgetter returns a bare value for one slot)."""
    if not slots:
        return None
    if len(slots) == 1:
        (only,) = slots
        return lambda env: (env[only],)
    return operator.itemgetter(*slots)


def _static_generator(op: Operation) -> bool:
    """A generator whose kernel needs no input values: no inputs, one output of a fully known shape
    (a run-time shaped Fill or random op, with a ``dims`` input, is computed as an ordinary step)."""
    return not op._inputs and len(op._outputs) == 1 and op._outputs[0].shape.is_fully_defined()


def _lazy(sub_steps: list[Step], slot: int) -> Any:
    def compute(_: Any, ctx: RunContext) -> Any:
        def thunk() -> Any:
            execute(sub_steps, ctx.env, ctx)
            return ctx.env[slot]

        return thunk

    return compute
