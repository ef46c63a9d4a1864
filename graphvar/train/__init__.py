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
