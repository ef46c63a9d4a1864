"""The GPU optimizer updates: kernels/optim.cu through one ``cupy.RawModule`` per device.

Imported by ``cupy_backend`` only (CuPy is present). Each Apply* op is one launch over the
variable, each SparseApply* op one launch over the gradient's rows (one per wave of repeated indices): the variable's and slots' buffers are updated in place under their locks (the order of
``training_kernels.locked_buffers``); hyperparameters are read to the host and turned into the
kernel's scalars by ``training_kernels.device_scalars``, in the variable's dtype, so the device
computes exactly what the NumPy backend computes. float16 / bfloat16 variables use the generic
CuPy code of ``training_kernels`` (same op order, CuPy's own elementwise kernels).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

from graphvar import errors
from graphvar.backends import sparse_training_kernels as stk
from graphvar.backends import training_kernels as tk
from graphvar.ops.training_ops import SPARSE_APPLY_INPUTS, grad_position, ref_positions

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_OPTIONS = ("--fmad=false",)


def _module_source() -> tuple[str, tuple[str, ...]]:
    try:
        from graphvar.backends.kernels_src import module_source
    except ImportError:  # older layout: the helper lived in cupy_backend
        from graphvar.backends.cupy_backend import module_source
    code, options = module_source("optim.cu")
    return code, tuple(options) + _OPTIONS


def make_cupy_training_kernels(backend: Any) -> dict[str, Any]:
    """The table op type -> kernel of the optimizer ops for CupyBackend `backend` (one device)."""
    backend_module = sys.modules[type(backend).__module__]
    cupy = backend_module.cupy  # the CuPy the backend itself was built with
    launch_shape = backend_module.launch_shape

    generic = tk.make_training_kernels(cupy)
    lock = threading.Lock()
    functions: dict[str, Any] = {}
    module: list[Any] = []

    def function(name: str) -> Any:
        fn = functions.get(name)
        if fn is None:
            with lock:
                if not module:
                    code, options = _module_source()
                    module.append(cupy.RawModule(code=code, options=options))
                with backend._device:
                    fn = functions[name] = module[0].get_function(name)
        return fn

    def on_device(kernel: Any) -> Any:
        def run(step: Any, args: list, ctx: Any) -> Any:
            with backend._device:
                return kernel(step, args, ctx)

        return run

    def apply(step: Any, args: list, ctx: Any) -> Any:
        op_type = step.op.type
        refs, grad_at = ref_positions(op_type), grad_position(op_type)
        slots = [args[i] for i in refs]
        current = slots[0].value
        if current is not None and np.dtype(current.dtype) not in _SUFFIX:
            return on_device(generic[op_type])(step, args, ctx)  # float16: CuPy's elementwise code
        with backend._device, tk.locked_buffers(step, slots) as bufs:
            grad = cupy.ascontiguousarray(cupy.asarray(args[grad_at]))
            tk.check_update_shapes(step, slots, bufs, grad)
            dtype = np.dtype(bufs[0].dtype)
            if grad.dtype != dtype or dtype not in _SUFFIX or not all(b.flags.c_contiguous for b in bufs):
                raise errors.InvalidArgumentError(
                    None, step.op, f"{step.op.name}: needs C-contiguous {dtype} buffers and a {dtype} gradient, "
                    f"got gradient {grad.dtype} (variable {slots[0].name!r})"
                )  # fmt: skip
            n = bufs[0].size
            if n:
                scalars = tk.device_scalars(op_type, step.attrs, tk.hyperparameters(step, args, dtype))
                name = f"{tk.OPTIM_KERNELS[op_type]}_{_SUFFIX[dtype]}"
                grid, block = launch_shape(tk.OPTIM_KERNELS[op_type], _SUFFIX[dtype], n, backend._sm_count)
                function(name)(grid, block, (*bufs, grad, *scalars, np.int64(n)))
        return slots[0]

    def sparse_apply(step: Any, args: list, ctx: Any) -> Any:
        op_type = step.op.type
        names = SPARSE_APPLY_INPUTS[op_type]
        slots = [args[i] for i in ref_positions(op_type)]
        current = slots[0].value
        if current is not None and np.dtype(current.dtype) not in _SUFFIX:
            return on_device(generic[op_type])(step, args, ctx)  # float16: CuPy's elementwise code
        with backend._device, tk.locked_buffers(step, slots) as bufs:
            grad = cupy.ascontiguousarray(cupy.asarray(args[grad_position(op_type)]))
            indices = cupy.asarray(args[names.index("indices")])
            stk.check_sparse_update(cupy, step, slots, bufs, grad, indices)
            dtype = np.dtype(bufs[0].dtype)
            if grad.dtype != dtype or not all(b.flags.c_contiguous for b in bufs):
                raise errors.InvalidArgumentError(
                    None, step.op, f"{step.op.name}: needs C-contiguous {dtype} buffers and a {dtype} gradient, "
                    f"got gradient {grad.dtype} (variable {slots[0].name!r})"
                )  # fmt: skip
            inner = stk.row_size(bufs[0])
            scalars = stk.sparse_device_scalars(op_type, step.attrs, stk.sparse_hyperparameters(step, args, dtype))
            kind, suffix = stk.SPARSE_OPTIM_KERNELS[op_type], _SUFFIX[dtype]
            g2d = grad.reshape(grad.shape[0], inner)
            for pos, rows in stk.waves(cupy, indices):  # one launch, unless an index repeats
                n = rows.shape[0] * inner
                if n:
                    rows64 = cupy.ascontiguousarray(rows.astype(np.int64))
                    g = g2d if pos is None else cupy.ascontiguousarray(g2d[pos])
                    grid, block = launch_shape(kind, suffix, n, backend._sm_count)
                    function(f"{kind}_{suffix}")(
                        grid, block, (*bufs, g, rows64, *scalars, np.int64(rows.shape[0]), np.int64(inner))
                    )
        return slots[0]

    table = {op: on_device(kernel) for op, kernel in generic.items()}
    table.update({op: apply for op in tk.OPTIM_KERNELS})
    table.update({op: sparse_apply for op in stk.SPARSE_OPTIM_KERNELS})
    return table
