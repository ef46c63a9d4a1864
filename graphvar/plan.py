"""Plans: the part of the graph one `Session.run` needs, as data, then compiled.

`Compiler` walks the graph once into a flat list of `Step`s (op, kernel, backend, `Input`s, output
slot): inspectable data. Passes rewrite that list (`plan_passes`: fill fusion, constant folding,
identity/read elimination, liveness and in-place), and `plan_codegen` turns it into one
straight-line Python function, so a run spends its time in the kernels.

`execute` below is the reference interpreter of the same data: the short loop the generated code
is checked against, and what runs plans with lazy inputs (`initialized_value()`), whose sub-plans
share slots with the main plan. Either way every op runs at most once per run: the generated
function names each step once, and the interpreter skips a step whose slot is already filled.
"""

from __future__ import annotations

import logging
from typing import Any

from graphvar import errors
from graphvar.framework.op_registry import get_op_def
from graphvar.framework.ops import Operation, Tensor

log = logging.getLogger("graphvar")
UNSET = object()


class Input:
    """Where a step's input comes from: env `slot`, then output `index` of a multi-output op, then the
    value of the variable held there (`read`: the consumer named in the uninitialized error), then a
    copy to another device (`move`: (source backend, destination backend)); `lazy`: a sub-plan run on
    demand (the kernel gets a thunk)."""

    __slots__ = ("slot", "index", "read", "move", "lazy")

    def __init__(self, slot: int, index: int | None = None, read: str | None = None, move: tuple | None = None,
                 lazy: list | None = None) -> None:  # fmt: skip
        self.slot, self.index, self.read, self.move, self.lazy = slot, index, read, move, lazy

    @property
    def plain(self) -> bool:
        return self.index is None and self.read is None and self.move is None and self.lazy is None

    def value(self, env: list, ctx: RunContext) -> Any:
        if self.lazy is not None:
            return _lazy(self.lazy, self.slot)(None, ctx)
        x = env[self.slot]
        if self.index is not None:
            x = x[self.index]
        if self.read is not None:
            x = x.read(self.read)
        if self.move is not None and x is not None:
            src, dst = self.move
            x = dst.from_host(src.to_host(x))
        return x

    def __repr__(self) -> str:
        parts = [f"v{self.slot}"] + [
            f"{k}={getattr(self, k)!r}" for k in ("index", "read") if getattr(self, k) is not None
        ]
        return (
            f"Input({', '.join(parts + (['move'] if self.move else []) + (['lazy'] if self.lazy is not None else []))})"
        )


class Step:
    """One op in a plan: kernel, backend, inputs, output slot (and what passes decided about it)."""

    __slots__ = ("kernel", "op", "op_def", "attrs", "inputs", "slot", "backend", "fill_step", "extra", "inplace")

    def __init__(self, op: Operation, kernel: Any, backend: Any, slot: int) -> None:
        self.op, self.op_def, self.attrs = op, get_op_def(op.type), op._attrs
        self.kernel, self.backend, self.slot = kernel, backend, slot
        self.inputs: list[Input] = []
        self.fill_step: Step | None = None  # generator fused into this Assign-like op (OpDef.fill_target)
        self.extra: Any = None  # per-session data a kernel needs (a random op's Philox key)
        self.inplace: int | None = None  # input position whose dead buffer receives the result (liveness)

    def __repr__(self) -> str:
        return f"v{self.slot} = {self.op.type}[{self.op.name}]({', '.join(map(repr, self.inputs))})"


class RunContext:
    __slots__ = ("session", "env")

    def __init__(self, session: Any, env: list) -> None:
        self.session = session
        self.env = env


def execute(steps: list[Step], env: list, ctx: RunContext, probe: Any = None) -> None:
    """Runs the steps in order (the reference interpreter); `probe(step, args, value)` sees each result."""
    for step in steps:
        if env[step.slot] is UNSET:
            try:
                args = [i.value(env, ctx) for i in step.inputs]
                env[step.slot] = value = step.kernel(step, args, ctx)
            except Exception as e:
                err = failure(step, e)
                if err is e:
                    raise
                raise err from e
            if probe is not None:
                probe(step, args, value)


def failure(step: Step, e: Exception) -> errors.OpError:
    """The TF error a user sees when `step` raised `e` (an OpError gets its op; the backend tells
    out-of-memory and device faults apart from a bad argument)."""
    op = step.op
    if isinstance(e, errors.OpError):
        if e.op is None:
            e._op = op
        return e
    kind, detail = step.backend.failure(e)
    if kind == "oom":
        out = ", ".join(f"{t.shape} {t.dtype.name}" for t in op._outputs)
        return errors.ResourceExhaustedError(
            None, op, f"OOM when allocating {detail} for {op.name} ({op.type}, output {out}) on {step.backend.device}"
        )
    if kind == "fault":
        return errors.InternalError(None, op, f"{op.name} ({op.type}): device fault on {step.backend.device}: {detail}")
    return errors.InvalidArgumentError(None, op, f"{op.name} ({op.type}): {type(e).__name__}: {e}")


class Compiler:
    """Turns (fetched elements, fed tensors) into steps for one Session."""

    def __init__(self, session: Any, feeds: list[Tensor]) -> None:
        self.session = session
        self.slots: dict[Any, int] = {}
        self.feed_slots = {t: self._new_slot(("feed", t)) for t in dict.fromkeys(feeds)}
        self.steps_by_op: dict[Operation, Step] = {}
        self.step_lists: list[list[Step]] = []
        self.constants: dict[int, Any] = {}  # slot -> value preset in every run's env (consts, variables)
        self.folded: set[int] = set()  # slots preset by constant folding (shared by every run: fetches copy)
        self.lazy = False  # some step has a lazy input: the plan runs through `execute`

    def _new_slot(self, key: Any) -> int:
        self.slots[key] = len(self.slots)
        return self.slots[key]

    def slot_of(self, t: Tensor) -> int:
        return self.feed_slots.get(t, self.slots.get(t.op, -1))

    def compile(self, targets: list[Operation], passes: Any = None) -> list[Step]:
        """Steps for `targets` and everything they need, in dependency order, after the passes."""
        from graphvar import plan_passes

        steps = self._compile_list(targets)
        plan_passes.run_passes(self, targets, plan_passes.ALL if passes is None else passes)
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
        ref_inputs, lazy = step.op_def.ref_inputs, step.op_def.lazy_positions(op)
        for i, t in enumerate(op._inputs):
            if i in lazy:
                self.lazy = True
                sub_steps = self._compile_list([t.op])  # first: it gives t's op its slot
                step.inputs.append(Input(self.slot_of(t), lazy=sub_steps))
            else:
                step.inputs.append(self._input(t, step, ref_inputs == "all" or i in ref_inputs))
        preset = self.session._prepare_step(step)
        if preset is not UNSET:
            self.constants[step.slot] = preset
        return step

    def _input(self, t: Tensor, step: Step, wants_ref: bool) -> Input:
        """How `step` reads `t`: the variable itself or its value, which output, and on which device."""
        fed = t in self.feed_slots
        is_ref = not fed and get_op_def(t.op.type).ref_output
        index = t.value_index if len(t.op._outputs) > 1 and not fed else None
        if wants_ref:
            if not is_ref:
                raise errors.InvalidArgumentError(
                    None, step.op, f"{step.op.name}: input {t.name!r} must be a variable (a ref), not a value"
                )
            return Input(self.slot_of(t), index)
        src = self.session._host if fed else self.steps_by_op[t.op].backend if t.op in self.steps_by_op else None
        move = (src, step.backend) if src is not None and src is not step.backend else None
        return Input(self.slot_of(t), index, step.op.name if is_ref else None, move)


def _lazy(sub_steps: list[Step], slot: int) -> Any:
    """A lazy input's reader: (value, ctx) -> a thunk that runs the sub-plan, then returns the slot's value
    (the whole kernel result: a kernel taking a lazy input of a multi-output op picks the output)."""

    def compute(_: Any, ctx: RunContext) -> Any:
        def thunk() -> Any:
            execute(sub_steps, ctx.env, ctx)
            return ctx.env[slot]

        return thunk

    return compute
