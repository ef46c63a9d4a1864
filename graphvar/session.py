"""Session: runs parts of a Graph, holds the variables' values, caches compiled plans."""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from graphvar import backends, blas_threads, errors, fetches, plan, plan_codegen
from graphvar.backends.array_kernels import VarSlot
from graphvar.config import ConfigProto
from graphvar.framework import device as device_lib
from graphvar.framework import ops
from graphvar.framework.op_registry import get_op_def

log = logging.getLogger("graphvar")
_MAX_PLANS = 4096
_KNOWN_DEVICES = (None, "CPU", "GPU")


class _DefaultSessions(threading.local):
    def __init__(self) -> None:
        self.stack: list[Session] = []


_defaults = _DefaultSessions()


def get_default_session() -> Session | None:
    """The innermost session entered with `with sess:` / `sess.as_default()` in this thread."""
    return _defaults.stack[-1] if _defaults.stack else None


class _Runner:
    """A compiled run: feed converters, the plan's function (or its steps, interpreted), fetch converters,
    result structure, and how BLAS threads are set while it runs."""

    __slots__ = ("session", "feeds", "steps", "template", "fetch_slots", "rebuild", "single", "run", "blas",
                 "interpreted", "liveness")  # fmt: skip

    def __init__(self, session: Session, feeds: list, steps: list, template: list, fetch_slots: list,
                 rebuild: Callable, single: bool, interpreted: bool, liveness: bool) -> None:  # fmt: skip
        self.session, self.feeds, self.steps, self.template = session, feeds, steps, template
        self.fetch_slots, self.rebuild = fetch_slots, rebuild
        self.single = fetch_slots[0] if single else None  # one fetch, not nested: skip the rebuild
        self.interpreted, self.liveness = interpreted, liveness
        self.blas = blas_threads.static_decision(steps)
        self.recompile()

    def recompile(self) -> None:
        """Builds the plan's function from its steps (again, after a step's kernel was replaced)."""
        if self.interpreted:  # lazy inputs: sub-plans share slots with this plan (plan.execute)
            steps = self.steps
            self.run = lambda env, ctx: plan.execute(steps, env, ctx)
        else:
            self.run = plan_codegen.build(self.steps, {s for s, _ in self.fetch_slots}, self.liveness)

    def __call__(self, feed_values: Any) -> Any:
        env = self.template.copy()
        if self.feeds:
            for (slot, convert), value in zip(self.feeds, feed_values):
                env[slot] = convert(value)
        ctx = plan.RunContext(self.session, env)
        if self.blas is None:
            self.run(env, ctx)
        elif self.blas is blas_threads.UNKNOWN:
            self._first_run(env, ctx)
        else:
            with self.blas:
                self.run(env, ctx)
        if self.single is not None:
            slot, fetch = self.single
            return fetch(env[slot])
        return self.rebuild([fetch(env[slot]) for slot, fetch in self.fetch_slots])

    def _first_run(self, env: list, ctx: plan.RunContext) -> None:
        """Run-time shaped products: the interpreter runs once and records their sizes, which decide."""
        seen: list[float] = []

        def probe(step: plan.Step, args: list, value: Any) -> None:
            if step.op_def.blas:
                seen.append(blas_threads.work(args[0].size, args[1].size, value.size))

        plan.execute(self.steps, env, ctx, probe)
        self.blas = blas_threads.observed_decision(seen)


class Session:
    """Runs operations of a graph; variables have values only inside a Session.

    Args:
      target: accepted for compatibility; graphvar runs in-process ("" only).
      graph: the Graph to run (default: the default graph).
      config: a ConfigProto (log_device_placement is honoured).

    Example:
      >>> with tf.Session() as sess:
      ...     sess.run(tf.global_variables_initializer())
      ...     print(sess.run(weights))
    """

    def __init__(self, target: str = "", graph: ops.Graph | None = None, config: ConfigProto | None = None) -> None:
        if target:
            raise errors.UnimplementedError(
                None, None, f"Session target {target!r}: graphvar only runs in-process (target '')"
            )
        self._graph = graph if graph is not None else ops.get_default_graph()
        self._config = config if config is not None else ConfigProto()
        self._closed = False
        self._lock = threading.RLock()
        self._runners: dict[Any, _Runner] = {}
        self._flat_runners: dict[tuple, _Runner] = {}  # (elements, feed keys) of a flat fetch list: no freeze()
        self._var_slots: dict[ops.Operation, VarSlot] = {}
        self._backends: dict[ops.Operation, Any] = {}
        self._random_runs: dict[ops.Operation, int] = {}
        self._random_keys: dict[ops.Operation, int] = {}
        self._host = backends.host()
        self.host_fallbacks: dict[str, int] = {}
        self._context_stack: list[Any] = []
        self._folded: dict[Any, Any] = {}  # (op, backend) -> its value, computed once by constant folding
        self._plan_passes: frozenset | None = None  # None: every pass (plan_passes.ALL); tests pick subsets

    graph = property(lambda self: self._graph)
    graph_def = property(lambda self: None)
    sess_str = property(lambda self: "")

    # ---- running ----
    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        """Computes `fetches` (a graph element or a nested list/tuple/namedtuple/dict of them).

        Args:
          fetches: Tensors, Operations, Variables or their names, possibly nested.
          feed_dict: {Tensor, Variable or name: value} overriding tensors' values for this run.

        Returns:
          NumPy values in the structure of `fetches` (None for Operations).

        Raises:
          RuntimeError: the session is closed.
          ValueError / TypeError: a fetch or feed that does not belong to this graph or does not fit.
          errors.OpError: an op failed (e.g. FailedPreconditionError for an uninitialized variable).
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feed_keys = tuple(feed_dict) if feed_dict else ()
        runner = None
        if type(fetches) is list:  # the fast path: a runner stored for a flat list of these elements
            try:
                runner = self._flat_runners.get((tuple(fetches), feed_keys))
            except TypeError:  # an unhashable element: a nested list or dict
                pass
        if runner is None:
            key = (_freeze(fetches) if isinstance(fetches, (list, tuple, dict)) else fetches, feed_keys)
            runner = self._runners.get(key)
            if runner is None:
                runner = self._compile(fetches, feed_keys, key)
        return runner(feed_dict.values() if feed_dict else ())

    def make_callable(
        self, fetches: Any, feed_list: list | None = None, accept_options: bool = False
    ) -> Callable[..., Any]:
        """A function running `fetches` with positional values for `feed_list`, skipping per-call lookups."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        runner = self._compile(fetches, tuple(feed_list or ()), None)

        def call(*feed_args: Any, **kwargs: Any) -> Any:
            if self._closed:
                raise RuntimeError("Attempted to use a closed Session.")
            if len(feed_args) != len(runner.feeds):
                raise TypeError(f"Expected {len(runner.feeds)} feed values, got {len(feed_args)}")
            return runner(feed_args)

        return call

    def _compile(self, fetch_struct: Any, feed_keys: tuple, cache_key: Any) -> _Runner:
        feeds = [self._resolve_feed(k) for k in feed_keys]
        elems, rebuild = fetches.flatten(fetch_struct, self._resolve_fetch)
        with self._lock:
            compiler = plan.Compiler(
                self, feeds
            )  # one tensor under two keys gets one slot; the last value wins, as in TF
            targets = [e.op if isinstance(e, ops.Tensor) else e for e in elems if e not in compiler.feed_slots]
            steps = compiler.compile(targets, self._plan_passes)
            fetch_slots = [self._fetch_slot(e, compiler) for e in elems]
            feed_specs = [(compiler.feed_slots[t], fetches.feed_converter(t)) for t in feeds]
            single = not isinstance(fetch_struct, (list, tuple, dict))
            liveness = self._plan_passes is None or "liveness" in self._plan_passes
            runner = _Runner(self, feed_specs, steps, compiler.env_template(), fetch_slots, rebuild, single,
                             compiler.lazy, liveness)  # fmt: skip
            if cache_key is not None:
                if len(self._runners) >= _MAX_PLANS:
                    self._runners.clear()
                    self._flat_runners.clear()
                self._runners[cache_key] = runner
                if type(fetch_struct) is list and not any(isinstance(f, (list, tuple, dict)) for f in fetch_struct):
                    self._flat_runners[(tuple(fetch_struct), feed_keys)] = runner
        return runner

    def _resolve_fetch(self, f: Any) -> Any:
        try:
            return self._graph.as_graph_element(f)
        except (TypeError, ValueError, KeyError) as e:
            raise type(e)(f"Fetch argument {f!r} cannot be interpreted as a Tensor. ({e})") from None

    def _resolve_feed(self, k: Any) -> ops.Tensor:
        try:
            t = self._graph.as_graph_element(k, allow_operation=False)
        except (TypeError, ValueError, KeyError) as e:
            raise type(e)(f"Cannot interpret feed_dict key {k!r} as a Tensor: {e}") from None
        return t

    def _fetch_slot(self, e: Any, compiler: plan.Compiler) -> tuple[int, Callable]:
        if isinstance(e, ops.Operation):
            return compiler.slots[e], fetches.fetch_none
        slot = compiler.slot_of(e)
        if e in compiler.feed_slots:
            return slot, fetches.fetch_fed
        op_def = get_op_def(e.op.type)
        if op_def.ref_output:
            return slot, fetches.fetch_variable_of(e.op)
        backend = compiler.steps_by_op[e.op].backend
        shared = op_def.aliases or op_def.constant or slot in compiler.folded  # the value outlives this run
        convert = fetches.fetch_copy(backend) if shared else fetches.fetch_value(backend)
        if len(e.op._outputs) > 1:  # the kernel returned one value per output
            i, whole = e.value_index, convert
            return slot, lambda value: whole(value[i])
        return slot, convert

    # ---- placement and per-session state, used by the compiler and kernels ----
    def _backend_for(self, op: ops.Operation) -> Any:
        backend = self._backends.get(op)
        if backend is not None:
            return backend
        ref_inputs = get_op_def(op.type).ref_inputs
        if ref_inputs == "all":
            backend, note = self._host, ""
        elif ref_inputs:
            backend, note = self._backend_for(op._inputs[ref_inputs[0]].op), ""
        else:
            backend, note = self._place(op)
        if note:
            log.info("graphvar: %s (%s) placed on %s: %s", op.name, op.type, op.device or "default device", note)
        if self._config.log_device_placement:
            print(f"{op.name}: ({op.type}): {backend.device}", file=sys.stderr)
        self._backends[op] = backend
        return backend

    def _place(self, op: ops.Operation) -> tuple[Any, str]:
        """The backend of `op`'s device; with allow_soft_placement=False a device that does not exist is
        TF's InvalidArgumentError, otherwise the op runs on the host (an unknown device type, /xpu:0,
        is logged and counted in `host_fallbacks`)."""
        device_type, index = device_lib.device_type_and_index(op.device)
        known = device_type in _KNOWN_DEVICES
        backend, note = backends.for_device(device_type if known else "CPU", index)
        if known and not note:
            return backend, note
        if not self._config.allow_soft_placement:
            raise errors.InvalidArgumentError(
                None, op,
                f"Cannot assign a device for operation {op.name}: Could not satisfy explicit device specification "
                f"'{op.device}' because no devices matching that specification are registered in this process; "
                f"available devices: {', '.join(d.name for d in self.list_devices())}",
            )  # fmt: skip
        if not known:
            note = f"no {device_type} device in graphvar; running on the host"
            log.warning("graphvar: %s (%s) asks for %s: %s", op.name, op.type, op.device, note)
            self.host_fallbacks[op.type] = self.host_fallbacks.get(op.type, 0) + 1
        return backend, note

    def _host_fallback(self, op: ops.Operation, backend: Any) -> tuple[Any, Any]:
        kernel = self._host.kernels.get(op.type)
        if kernel is None:
            raise errors.UnimplementedError(
                None, op, f"No kernel for op {op.name!r} of type {op.type!r} on any backend"
            )
        count = self.host_fallbacks.get(op.type, 0)
        if count == 0:
            log.warning("graphvar: no %s kernel for %s; running %s on the host", backend.name, op.type, op.name)
        self.host_fallbacks[op.type] = count + 1
        self._backends[op] = self._host
        return self._host, kernel

    def _prepare_step(self, step: plan.Step) -> Any:
        """Binds per-session state to a step; returns a value to preset in its slot (no step), or UNSET."""
        op, op_def = step.op, get_op_def(step.op.type)
        if op_def.variable:
            slot = self._var_slots.get(op)
            if slot is None:
                slot = self._var_slots[op] = VarSlot(op.name, op._attrs["shape"], step.backend)
            return slot  # a variable's ref is fixed for the session's life
        if op_def.constant and step.backend is self._host:
            return step.kernel(step, (), plan.RunContext(self, []))  # a function of the op's attrs alone
        if "seed" in op._attrs:
            step.extra = self._random_key(op)
        return plan.UNSET

    def _random_key(self, op: ops.Operation) -> int:
        from graphvar import random as rnd

        seed, seed2 = op._attrs["seed"], op._attrs["seed2"]
        if seed or seed2:
            return rnd.philox_key(seed, seed2)
        key = self._random_keys.get(op)
        if key is None:  # neither graph nor op seed: a fresh stream in every Session
            key = self._random_keys[op] = rnd.philox_key(secrets.randbits(31), secrets.randbits(31))
        return key

    def _random_stream(self, step: plan.Step) -> tuple[int, int]:
        """(key, run index) for a random op: the n-th run of the op in this Session uses index n."""
        with self._lock:
            run = self._random_runs.get(step.op, 0)
            self._random_runs[step.op] = run + 1
        return step.extra, run

    def _fill_assign_kernel(self, backend: Any) -> Callable:
        def fill_assign(step: plan.Step, args: list, ctx: plan.RunContext) -> VarSlot:
            slot, gen = args[0], step.fill_step
            out = gen.op._outputs[0]  # the planner fuses only generators of a static shape, without inputs
            shape, dtype = out.shape.as_tuple(), out.dtype.np
            with slot.lock:
                buf = slot.value
                if not backend.reusable(buf, shape, dtype):
                    if step.attrs.get("validate_shape", True):
                        slot.check_shape(shape, step.op.name)
                    buf = backend.empty(shape, dtype)
                slot.value = gen.kernel(gen, [], ctx, out=buf)  # out, or a fresh buffer it chose
            return slot

        return fill_assign

    def _variable_slot(self, variable: Any) -> VarSlot:
        """The Session's slot for a Variable (used by the Saver); creates it uninitialized if needed."""
        op = variable.op if hasattr(variable, "op") else variable
        with self._lock:
            slot = self._var_slots.get(op)
            if slot is None:
                backend = self._backend_for(op)
                slot = self._var_slots[op] = VarSlot(op.name, op._attrs["shape"], backend)
            return slot

    # ---- lifecycle ----
    def close(self) -> None:
        """Frees the variables' buffers; later calls raise RuntimeError."""
        with self._lock:
            self._closed = True
            for slot in self._var_slots.values():
                slot.value = None
            self._var_slots.clear()
            for backend in {id(b): b for b in self._backends.values()}.values():
                backend.release(self)
            self._runners.clear()
            self._flat_runners.clear()
            self._backends.clear()
            self._folded.clear()

    def list_devices(self) -> list[Any]:
        devices = [_DeviceAttributes("/job:localhost/replica:0/task:0/device:CPU:0", "CPU")]
        for i in range(backends.gpu_count()):
            devices.append(_DeviceAttributes(f"/job:localhost/replica:0/task:0/device:GPU:{i}", "GPU"))
        return devices

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Session]:
        """Makes this the default session (for Tensor.eval / Operation.run) inside the block."""
        _defaults.stack.append(self)
        try:
            yield self
        finally:
            _defaults.stack.remove(self)

    def __enter__(self) -> Session:
        graph_ctx, sess_ctx = self._graph.as_default(), self.as_default()
        graph_ctx.__enter__()
        sess_ctx.__enter__()
        self._context_stack.append((graph_ctx, sess_ctx))
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        graph_ctx, sess_ctx = self._context_stack.pop()
        sess_ctx.__exit__(exc_type, exc, tb)
        graph_ctx.__exit__(exc_type, exc, tb)
        self.close()


class InteractiveSession(Session):
    """A Session that makes itself the default session (and its graph the default graph) on creation."""

    def __init__(self, target: str = "", graph: ops.Graph | None = None, config: ConfigProto | None = None) -> None:
        super().__init__(target, graph, config)
        self._interactive = (self._graph.as_default(), self.as_default())
        for ctx in self._interactive:
            ctx.__enter__()

    def close(self) -> None:
        super().close()
        ctxs, self._interactive = self._interactive, ()
        for ctx in reversed(ctxs):
            with contextlib.suppress(ValueError, IndexError):
                ctx.__exit__(None, None, None)


class _DeviceAttributes:
    def __init__(self, name: str, device_type: str) -> None:
        self.name, self.device_type, self.memory_limit_bytes = name, device_type, 0

    def __repr__(self) -> str:
        return f"_DeviceAttributes({self.name}, {self.device_type})"


def _freeze(f: Any) -> Any:
    return fetches.freeze(f)
