"""Session configuration objects with TF1's names (plain attribute holders, no protobuf)."""

from __future__ import annotations

from typing import Any


class _Options:
    _defaults: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        for k, v in self._defaults.items():
            setattr(self, k, v() if callable(v) else v)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class GPUOptions(_Options):
    """Accepted for compatibility (allow_growth, per_process_gpu_memory_fraction, visible_device_list)."""

    _defaults = {"allow_growth": False, "per_process_gpu_memory_fraction": 0.0, "visible_device_list": ""}


class ConfigProto(_Options):
    """Session options; graphvar honours log_device_placement and allow_soft_placement."""

    _defaults = {
        "log_device_placement": False,
        "allow_soft_placement": True,
        "gpu_options": GPUOptions,
        "device_count": dict,
        "intra_op_parallelism_threads": 0,
        "inter_op_parallelism_threads": 0,
    }


class RunOptions(_Options):
    """Accepted by Session.run for compatibility; tracing is not implemented."""

    FULL_TRACE = 3
    NO_TRACE = 0
    _defaults = {"trace_level": 0, "timeout_in_ms": 0}


class RunMetadata(_Options):
    """Filled by Session.run with `step_stats` = None (no tracing)."""

    _defaults = {"step_stats": None, "partition_graphs": list}


class OptimizerOptions(_Options):
    pass


class GraphOptions(_Options):
    pass
