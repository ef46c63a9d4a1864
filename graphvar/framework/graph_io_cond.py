"""graphvar's Cond -> TensorFlow's tf.cond (control flow v1: Switch / Merge), and its CondContextDefs.

TF1's cond is dataflow with dead tensors: each tensor a branch reads from outside goes through a
``Switch(x, pred_id)`` whose output 1 (true) or 0 (false) is live only when the branch is taken;
ops with no inputs inside a branch depend on the branch's pivot (``switch_t`` / ``switch_f``, the
outputs of ``Switch(pred, pred)``), and a ``Merge(false, true)`` per output forwards the live one.
A nested cond's branch reads through the Switches of every cond around it. The export writes
that form: per Cond ``<cond>/Switch``, ``switch_t``, ``switch_f``, ``pred_id``, one Switch per
captured tensor and branch (a RefSwitch for a variable), the branch ops as they are, and the
Merges (the one Merge of a one-output Cond carries the Cond's name, so its consumers read it as
before). The two CondContextDefs TF writes per cond (``cond_text``: branch 1, ``cond_text_1``:
branch 0) go into the meta graph's ``cond_context`` collection.
"""

from __future__ import annotations

from typing import Any

from graphvar import dtypes
from graphvar.framework.op_registry import get_op_def
from graphvar.proto import control_flow_pb2


class CondExport:
    """The branch structure of a graph's conds while its GraphDef is written.

    `frames[op]`: the (Cond op, branch) pairs whose branch holds `op`, outermost first.
    """

    def __init__(self, conds: list) -> None:
        self.conds = conds
        self.frames: dict = {}
        for c in sorted(conds, key=self._depth_key(conds)):
            for branch, members in ((True, c._attrs["branch_ops"][0]), (False, c._attrs["branch_ops"][1])):
                chain = self.frames.get(c, ()) + ((c, branch),)
                for op in members:
                    old = self.frames.get(op, ())
                    if chain[: len(old)] == old:  # nested in what it was in: the inner cond is more specific
                        self.frames[op] = chain
        self.headers: dict = {}  # Cond -> (pred_id, switch_t, switch_f)
        self.switches: dict = {}  # (ref, Cond, branch) -> the Switch output the branch reads
        self.values: dict = {}  # (Cond, branch) -> the tensor names in that context
        self.external: dict = {}  # (Cond, branch) -> {outside tensor name: Switch output}
        self.infra: set = set()
        self._start = 0

    @staticmethod
    def _depth_key(conds: list) -> Any:
        parents: dict = {}
        for c in conds:
            for members in c._attrs["branch_ops"]:
                for op in members:
                    if op.type == "Cond":
                        parents.setdefault(op, c)
        order = {c: i for i, c in enumerate(conds)}

        def depth(c: Any) -> int:
            d = 0
            while c in parents and d < len(conds):
                c, d = parents[c], d + 1
            return d

        return lambda c: (depth(c), order[c])

    @classmethod
    def of(cls, ops: list) -> CondExport | None:
        conds = [op for op in ops if op.type == "Cond"]
        return cls(conds) if conds else None

    # ---- the export loop's hooks ----
    def enter(self, ctx: Any, op: Any) -> None:
        frames = self.frames.get(op, ())
        ctx._frames = frames
        ctx._pivot = None
        if frames:
            c, branch = frames[-1]
            ctx._pivot = self.header(ctx, c)[1 if branch else 2]
        self._start = len(ctx.graph_def.node)

    def leave(self, ctx: Any, op: Any) -> None:
        frames = ctx._frames
        ctx._frames, ctx._pivot = (), None
        if not frames:
            return
        names = self.values.setdefault(frames[-1], set())
        for node in ctx.graph_def.node[self._start :]:
            if node.name in self.infra:
                continue
            count = len(op.outputs) if node.name == op.name else 1
            names.update(f"{node.name}:{i}" for i in range(count))

    # ---- reading a tensor from inside frames ----
    def read(self, ctx: Any, t: Any, frames: tuple) -> str:
        """The ref that ops in `frames` read `t` through: a Switch for each cond `t` is outside of."""
        own = self.frames.get(t.op, ())
        k = 0
        while k < len(own) and k < len(frames) and own[k] == frames[k]:
            k += 1
        ref = ctx.ref(t)
        for c, branch in frames[k:]:
            ref = self._switch(ctx, t, ref, c, branch)
        return ref

    def _switch(self, ctx: Any, t: Any, ref: str, c: Any, branch: bool) -> str:
        key = (ref, c, branch)
        out = self.switches.get(key)
        if out is not None:
            return out
        pred_id = self.header(ctx, c)[0]
        tf_type = "RefSwitch" if get_op_def(t.op.type).ref_output else "Switch"
        name = self._emit(ctx, c, f"{c.name}/Switch", tf_type, [(ref, t.dtype), (pred_id, dtypes.bool)], [t.dtype] * 2)
        out = self.switches[key] = f"{name}:1" if branch else name
        values = self.values.setdefault((c, branch), set())
        values.update((t.name, f"{name}:{int(branch)}"))
        self.external.setdefault((c, branch), {})[t.name] = f"{name}:{int(branch)}"
        return out

    def header(self, ctx: Any, c: Any) -> tuple:
        """(pred_id, switch_t, switch_f) of Cond `c`, written on first use."""
        found = self.headers.get(c)
        if found is not None:
            return found
        b = dtypes.bool
        pred = self.read(ctx, c.inputs[0], self.frames.get(c, ()))
        controls = [(f"^{x.name}", None) for x in c.control_inputs]
        switch = self._emit(ctx, c, f"{c.name}/Switch", "Switch", [(pred, b), (pred, b), *controls], [b, b])
        switch_t = self._emit(ctx, c, f"{c.name}/switch_t", "Identity", [(f"{switch}:1", b)], [b])
        switch_f = self._emit(ctx, c, f"{c.name}/switch_f", "Identity", [(switch, b)], [b])
        pred_id = self._emit(ctx, c, f"{c.name}/pred_id", "Identity", [(pred, b), *controls], [b])
        found = self.headers[c] = (pred_id, switch_t, switch_f)
        for branch, pivot in ((True, switch_t), (False, switch_f)):
            self.values.setdefault((c, branch), set()).update((f"{pred_id}:0", f"{pivot}:0"))
            self.external.setdefault((c, branch), {})[f"{pred_id}:0"] = f"{pred_id}:0"
        return found

    def _emit(self, ctx: Any, c: Any, name: str, tf_type: str, inputs: list, outputs: list) -> str:
        saved = ctx._op, ctx._frames, ctx._pivot
        ctx._op, ctx._frames, ctx._pivot = None, (), None
        try:
            name = ctx.node(ctx.unique(name), tf_type, inputs, {}, outputs)
        finally:
            ctx._op, ctx._frames, ctx._pivot = saved
        if c.device and not ctx.clear_devices:
            ctx.graph_def.node[-1].device = c.device
        self.infra.add(name)
        return name

    # ---- the cond_context collection ----
    def context_defs(self) -> list:
        """TF's CondContextDefs, two per cond (true's first), in the order TF adds them to `cond_context`."""
        defs: dict = {}
        for c in self.conds:
            if c not in self.headers:
                continue
            pred_id, switch_t, switch_f = self.headers[c]
            for branch, pivot, suffix in ((True, switch_t, ""), (False, switch_f, "_1")):
                d = control_flow_pb2.CondContextDef(context_name=f"{c.name}/cond_text{suffix}",
                                                    pred_name=f"{pred_id}:0", pivot_name=f"{pivot}:0",
                                                    branch=int(branch))  # fmt: skip
                d.values_def.values.extend(sorted(self.values.get((c, branch), ())))
                d.values_def.external_values.update(self.external.get((c, branch), {}))
                defs[(c, branch)] = d
        for c in reversed(self.conds):  # inner conds were made first: nest them into the frame around them
            frames = self.frames.get(c, ())
            if frames and (c, True) in defs and frames[-1] in defs:
                for branch in (True, False):
                    defs[frames[-1]].nested_contexts.add().cond_ctxt.CopyFrom(defs[(c, branch)])
        return [defs[(c, b)] for c in self.conds for b in (True, False) if (c, b) in defs]


def export_cond(op: Any, rule: Any, ctx: Any) -> None:
    """A Merge(false, true) per output of the Cond; a one-output Cond's Merge carries its name."""
    conds: CondExport = ctx.conds
    n, k = op._attrs["num_outputs"], op._attrs["num_captured"]
    outs_t, outs_f = op.inputs[1 + k : 1 + k + n], op.inputs[1 + k + n :]
    frames = conds.frames.get(op, ())
    conds.header(ctx, op)
    for i, (t, f) in enumerate(zip(outs_t, outs_f)):
        inputs = [(conds.read(ctx, f, frames + ((op, False),)), f.dtype),
                  (conds.read(ctx, t, frames + ((op, True),)), t.dtype)]  # fmt: skip
        out = op.outputs[i]
        name = op.name if n == 1 else ctx.unique(f"{op.name}/Merge")
        ctx.node(name, "Merge", inputs, {}, [out.dtype, dtypes.int32], [out.shape])
        if n > 1:
            ctx.renamed[out] = name
