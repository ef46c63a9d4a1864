"""``tf.train``: the Saver and the checkpoint helpers."""

from graphvar.train.checkpoint_state import (
    CheckpointState,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)
from graphvar.train.saver import Saver
from graphvar.train.training_util import (
    create_global_step,
    export_meta_graph,
    get_global_step,
    get_or_create_global_step,
    global_step,
    import_meta_graph,
)
from graphvar.train.reader import (
    CheckpointReader,
    NewCheckpointReader,
    list_variables,
    load_checkpoint,
    load_variable,
)

__all__ = [
    "CheckpointReader",
    "CheckpointState",
    "NewCheckpointReader",
    "Saver",
    "checkpoint_exists",
    "create_global_step",
    "export_meta_graph",
    "get_global_step",
    "get_or_create_global_step",
    "global_step",
    "import_meta_graph",
    "get_checkpoint_state",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
    "load_variable",
    "update_checkpoint_state",
]

_NOT_SUPPORTED = {
    "Optimizer", "GradientDescentOptimizer", "AdamOptimizer", "AdagradOptimizer", "MomentumOptimizer",
    "RMSPropOptimizer", "AdadeltaOptimizer", "FtrlOptimizer", "exponential_decay", "MonitoredTrainingSession",
    "Supervisor", "Coordinator", "start_queue_runners", "ExponentialMovingAverage",
}  # fmt: skip


def __getattr__(name: str):
    if name in _NOT_SUPPORTED:
        raise NotImplementedError(
            f"tf.train.{name} is not part of graphvar: it runs TF1's variable / Session / Saver workflow, "
            "without automatic differentiation or training loops"
        )
    raise AttributeError(f"module 'graphvar.train' has no attribute {name!r}")
