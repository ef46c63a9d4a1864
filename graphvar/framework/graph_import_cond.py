"""TensorFlow's tf.cond (control flow v1: Switch / Merge) -> graphvar's Cond ops, found from the structure.

A TF1 cond is dataflow with dead tensors: ``Switch(x, p)`` forwards x to output 1 when p holds and
to output 0 otherwise, the other output being dead; every op with a dead input is dead; a
``Merge`` forwards its live input. So each tensor is live under a set of conditions (a predicate
and the output of its Switch, for each cond it is inside), computed here from the inputs:
a Switch output adds (predicate, branch), an op unites its inputs' (data and control), and a Merge
whose inputs differ in exactly one condition, (p, true) against (p, false), is a cond over p and
lives under what they share. Predicates are compared by the tensor they come from (through
Identity and Switch), so a cond's ``pred_id``, its pivot's ``Switch(p, p)`` and TF's gradient
conds (``gradients/cond/Merge_grad/cond_grad``: a Switch on the forward cond's ``pred_id``) agree.

Each Merge becomes one Cond whose branch ops are the nodes it reads that live under (p, true) or
(p, false): the forward branch's ops, a nested cond's ops, or the gradient ops TF puts in a
gradient cond's branch together with the forward values they read. A Switch becomes nothing: its
outputs stand for its data input (after its control inputs). This reads TF's own graphs, graphvar's
exports, the `cond_context` collection being only a record of the same structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphvar.framework.graph_io import node_error, parse_ref

SWITCHES = ("Switch", "RefSwitch")
MERGES = ("Merge", "RefMerge")
WHILE_TYPES = ("Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration", "LoopCond")
FUNCTIONAL = ("If", "StatelessIf", "While", "StatelessWhile")
_EMPTY: frozenset = frozenset()


@dataclass
class CondPattern:
    """One TF Merge as a graphvar Cond (a pattern of graph_import's Importer)."""

    pred: str
    true_ref: str
    false_ref: str
    true_nodes: list
    false_nodes: list
    deps: list
    inner: set = field(default_factory=set)
    consts: tuple = ()

    def build(self, ctx: Any, node: Any) -> Any:
        from graphvar.ops import cond_ops

        pred, t, f = ctx.tensor(self.pred), ctx.tensor(self.true_ref), ctx.tensor(self.false_ref)
        ops_t = [ctx.ops[n] for n in self.true_nodes if n in ctx.ops]
        ops_f = [ctx.ops[n] for n in self.false_nodes if n in ctx.ops]
        captured = list(dict.fromkeys(cond_ops._captured(ops_t, [t]) + cond_ops._captured(ops_f, [f])))
        attrs = {"num_outputs": 1, "num_captured": len(captured), "branch_ops": (ops_t, ops_f)}
        try:
            return ctx.create(node, "Cond", [pred, *captured, t, f], attrs)
        except (TypeError, ValueError) as e:
            raise node_error(node, f"its cond does not build: {e}") from e


class CondGraph:
    """The conds of one GraphDef: `switches` (name -> (data ref, control input names), through chains of
    Switches) and `found` (Merge name -> CondPattern)."""

    def __init__(self, nodes: dict, patterns: dict, skip: set) -> None:
        inner = {n for pat in patterns.values() for n in pat.inner} | set(skip)
        self.nodes, self.patterns = nodes, patterns
        self.ctx: dict = {}
        self.found: dict = {}
        self.switches: dict = {}
        switch_nodes = {n: node for n, node in nodes.items() if node.op in SWITCHES and n not in inner}
        merges = [node for n, node in nodes.items() if node.op in MERGES and n not in inner and n not in patterns]
        if not switch_nodes and not merges:
            return
        if any(node.op in WHILE_TYPES or node.op in FUNCTIONAL for node in nodes.values()):
            return  # not conds only: Importer.check names the loop's node
        self._switch_nodes = switch_nodes
        self._merges = {m.name for m in merges}
        self._literal: dict = {}
        for m in merges:
            self.node_ctx(m.name)
        keys = {key for key, _, _ in self._literal.values()}
        # a Switch of no cond's predicate is not a cond's: left to Importer.check, which names it
        self.switches = {n: self._through(n) for n, sw in switch_nodes.items() if self._key(sw.input[1]) in keys}
        for m in merges:
            self.found[m.name] = self._pattern(m)
        self._check_index_reads()

    # ---- the conditions a tensor lives under ----
    def _key(self, ref: str) -> tuple:
        name, idx, _ = parse_ref(ref)
        for _ in range(len(self.nodes)):
            n = self.nodes.get(name)
            if n is None or n.op not in ("Identity", *SWITCHES) or not n.input or name in self.patterns:
                break
            name, idx, _ = parse_ref(n.input[0])
        return name, idx

    def out_ctx(self, ref: str) -> frozenset:
        name, idx, control = parse_ref(ref)
        base = self.node_ctx(name)
        sw = self._switch_nodes.get(name)
        if sw is None or control:  # a Switch's control edge fires whichever branch is taken
            return base
        return base | {(self._key(sw.input[1]), idx == 1)}

    def _inputs(self, name: str) -> Any:
        pat = self.patterns.get(name)
        return pat.deps if pat is not None else self.nodes[name].input

    def node_ctx(self, name: str) -> frozenset:
        stack, expanded = [name], set()
        while stack:
            n = stack[-1]
            if n in self.ctx:
                stack.pop()
                continue
            if n not in self.nodes:  # mapped or missing: Importer.check reports a missing input
                self.ctx[n] = _EMPTY
                stack.pop()
                continue
            deps = [d for d in (parse_ref(r)[0] for r in self._inputs(n)) if d not in self.ctx]
            if deps:
                if n in expanded:
                    raise node_error(self.nodes[n], "the graph has a cycle through this node")
                expanded.add(n)
                stack.extend(deps)
                continue
            self.ctx[n] = self._merge_ctx(n) if n in self._merges else self._union(n)
            stack.pop()
        return self.ctx[name]

    def _union(self, n: str) -> frozenset:
        out = _EMPTY
        for r in self._inputs(n):
            c = self.out_ctx(r)
            if c:
                out = out | c
        if len({k for k, _ in out}) != len(out):
            raise node_error(self.nodes[n], "it reads both branches of a tf.cond without a Merge")
        return out

    def _merge_ctx(self, n: str) -> frozenset:
        node = self.nodes[n]
        data = [r for r in node.input if not r.startswith("^")]
        if len(data) != 2:
            raise node_error(node, f"graphvar imports the Merge of a tf.cond (2 inputs), not one of {len(data)}")
        a, b = self.out_ctx(data[0]), self.out_ctx(data[1])
        da, db = a - b, b - a
        if len(da) != 1 or len(db) != 1 or next(iter(da))[0] != next(iter(db))[0]:
            raise node_error(node, "its inputs are not the two branches of one tf.cond (Switch outputs 1 and 0 "
                                   "of one predicate)")  # fmt: skip
        ((key, first_is_true),) = da
        self._literal[n] = (key, data[0] if first_is_true else data[1], data[1] if first_is_true else data[0])
        out = a & b
        for r in node.input:
            if r.startswith("^"):
                out = out | self.out_ctx(r)
        return out

    # ---- the Conds ----
    def _pattern(self, m: Any) -> CondPattern:
        key, true_ref, false_ref = self._literal[m.name]
        true_nodes, bounds_t = self._branch(true_ref, (key, True))
        false_nodes, bounds_f = self._branch(false_ref, (key, False))
        bounds = bounds_t + bounds_f
        switches = [s for s in bounds if parse_ref(s.input[0])[0] != parse_ref(s.input[1])[0]] or bounds
        if not switches:
            raise node_error(m, "no Switch of its predicate feeds its branches")
        pred = switches[0].input[1]
        deps = [self.source(pred), self.source(true_ref), self.source(false_ref)]
        return CondPattern(pred, true_ref, false_ref, true_nodes, false_nodes, list(dict.fromkeys(deps)))

    def _branch(self, ref: str, literal: tuple) -> tuple[list, list]:
        """The nodes `ref` is computed from that live under `literal`, and the Switches they read it through."""
        members, bounds, seen = [], [], set()
        stack = [parse_ref(ref)[0]]
        while stack:
            n = stack.pop()
            if n in seen or n not in self.nodes:
                continue
            seen.add(n)
            sw = self._switch_nodes.get(n)
            inside = literal in self.node_ctx(n)
            if sw is not None and not inside and self._key(sw.input[1]) == literal[0]:
                bounds.append(sw)
            if not inside:
                continue
            if sw is None:
                members.append(n)
            stack.extend(parse_ref(r)[0] for r in self._inputs(n))
        return members, bounds

    def _through(self, name: str) -> tuple:
        controls: list = []
        ref = name
        for _ in range(len(self.nodes)):
            sw = self._switch_nodes.get(parse_ref(ref)[0])
            if sw is None:
                break
            controls.extend(parse_ref(r)[0] for r in sw.input if r.startswith("^"))
            ref = sw.input[0]
        return ref, tuple(controls)

    def source(self, ref: str) -> str:
        """The node a ref reads once Switches are taken out."""
        name = parse_ref(ref)[0]
        return parse_ref(self.switches[name][0])[0] if name in self.switches else name

    def sources(self, name: str) -> list:
        """What a (control) edge from node `name` waits for once Switches are taken out."""
        if name not in self.switches:
            return [name]
        ref, controls = self.switches[name]
        return [parse_ref(ref)[0], *controls]

    def _check_index_reads(self) -> None:
        for node in self.nodes.values():
            for ref in node.input:
                name, idx, control = parse_ref(ref)
                if idx == 1 and not control and name in self.found:
                    raise node_error(node, f"it reads {ref!r}, the branch index of a tf.cond's Merge, which "
                                           "graphvar's Cond does not have")  # fmt: skip
