"""The op table: an op type is a name, a shape rule and a few flags.

Ops modules register their types here; backends register one kernel per type in their
own table. Adding an op touches its ops module and the backend tables, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OpDef:
    """What the graph and the planner know of an op type.

    Attributes:
      type: the op type name ("MatMul").
      shape_fn: (op) -> list of (DType, TensorShape), one per output; raises ValueError
        with what was expected and what was found (the caller adds the op's name).
      stateful: runs for its side effect or gives new values each run (random, assign).
      ref_inputs: input positions that receive the variable itself (not its value), or "all".
      aliases: the output may share memory with an input or a variable (fetches copy it).
      fills: a value generator whose kernel can write straight into a given buffer (``out=``).
      ref_output: the output is the variable itself (fetching it copies the value).
      lazy_inputs: input positions computed only on demand: the kernel gets a thunk that runs
        the input's sub-plan when called (``initialized_value()``'s initial value).
      constant: the kernel is a function of the attrs alone; on the host its value is preset in
        the env every run starts from (no step), and fetches copy it (Const).
      variable: the op holds a variable: the Session gives it a VarSlot, fixed for its life,
        preset in the env (VariableV2).
      fill_target: the input position whose ``fills`` generator may be fused into this op (which
        takes the variable as ref input 0): the generator writes straight into the variable's
        buffer, no temporary (Assign: 1).
      identity: the output is input 0 itself (Identity, StopGradient): the planner lets readers
        read input 0 directly (identity/read elimination).
      blas: the kernel is a matrix product through BLAS (MatMul, Conv2D's im2col product): the
        planner runs plans whose products are all small with one BLAS thread.
    """

    type: str
    shape_fn: Callable[[Any], list]
    stateful: bool = False
    ref_inputs: tuple[int, ...] | str = ()
    aliases: bool = False
    fills: bool = False
    ref_output: bool = False
    lazy_inputs: tuple[int, ...] | Callable[[Any], tuple[int, ...]] = ()
    constant: bool = False
    variable: bool = False
    fill_target: int | None = None
    identity: bool = False
    blas: bool = False

    def lazy_positions(self, op: Any) -> tuple[int, ...]:
        """The lazy input positions of `op` (a function of the op when their number varies, as in Cond)."""
        return self.lazy_inputs(op) if callable(self.lazy_inputs) else self.lazy_inputs


OP_DEFS: dict[str, OpDef] = {}


def register_op(type_name: str, shape_fn: Callable[[Any], list], **flags: Any) -> OpDef:
    if type_name in OP_DEFS:
        raise KeyError(f"Op type {type_name!r} is registered twice")
    op_def = OpDef(type_name, shape_fn, **flags)
    OP_DEFS[type_name] = op_def
    return op_def


def get_op_def(type_name: str) -> OpDef:
    try:
        return OP_DEFS[type_name]
    except KeyError:
        raise KeyError(f"Op type {type_name!r} is not registered") from None
