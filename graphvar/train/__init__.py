"""``tf.train``: the Saver and the checkpoint helpers."""

from graphvar.train.checkpoint_state import (
    CheckpointState,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)
from graphvar.train.adadelta import AdadeltaOptimizer
from graphvar.train.adagrad import AdagradOptimizer
from graphvar.train.adam import AdamOptimizer
from graphvar.train.gradient_descent import GradientDescentOptimizer
from graphvar.train.learning_rate_decay import (
    exponential_decay,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
)
from graphvar.train.momentum import MomentumOptimizer
from graphvar.train.optimizer import Optimizer
from graphvar.train.rmsprop import RMSPropOptimizer
from graphvar.train.ftrl import FtrlOptimizer
from graphvar.train.proximal_gradient_descent import ProximalGradientDescentOptimizer
from graphvar.train.moving_averages import ExponentialMovingAverage
from graphvar.train.coordinator import Coordinator, start_queue_runners
from graphvar.train.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues
from graphvar.train.basic_session_run_hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    FeedFnHook,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)
from graphvar.train.monitored_session import (
    ChiefSessionCreator,
    MonitoredSession,
    MonitoredTrainingSession,
    Scaffold,
    SingularMonitoredSession,
    WorkerSessionCreator,
)
from graphvar.train.saver import Saver
from graphvar.train.device_setter import ClusterSpec, replica_device_setter
from graphvar.train.training_util import (
    create_global_step,
    export_meta_graph,
    get_global_step,
    get_or_create_global_step,
    global_step,
    import_meta_graph,
    write_graph,
)
from graphvar.train.reader import (
    CheckpointReader,
    NewCheckpointReader,
    list_variables,
    load_checkpoint,
    load_variable,
)

from graphvar.summary.file_writer import summary_iterator

__all__ = [
    "AdadeltaOptimizer",
    "FtrlOptimizer",
    "ProximalGradientDescentOptimizer",
    "ExponentialMovingAverage",
    "Coordinator",
    "start_queue_runners",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunHook",
    "SessionRunValues",
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "FeedFnHook",
    "FinalOpsHook",
    "LoggingTensorHook",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "SecondOrStepTimer",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "ChiefSessionCreator",
    "MonitoredSession",
    "MonitoredTrainingSession",
    "Scaffold",
    "SingularMonitoredSession",
    "WorkerSessionCreator",
    "summary_iterator",
    "AdagradOptimizer",
    "AdamOptimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "Optimizer",
    "RMSPropOptimizer",
    "exponential_decay",
    "inverse_time_decay",
    "natural_exp_decay",
    "piecewise_constant",
    "polynomial_decay",
    "CheckpointReader",
    "CheckpointState",
    "NewCheckpointReader",
    "Saver",
    "ClusterSpec",
    "replica_device_setter",
    "checkpoint_exists",
    "create_global_step",
    "export_meta_graph",
    "get_global_step",
    "get_or_create_global_step",
    "global_step",
    "import_meta_graph",
    "write_graph",
    "get_checkpoint_state",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
    "load_variable",
    "update_checkpoint_state",
]

_NOT_SUPPORTED = {"Supervisor", "QueueRunner", "SyncReplicasOptimizer"}


def __getattr__(name: str):
    if name in _NOT_SUPPORTED:
        raise NotImplementedError(
            f"tf.train.{name} is not implemented in graphvar (it has TF1's variables, Sessions, Savers, "
            "optimizers, schedules and MonitoredTrainingSession, not queues or TF's distributed runtime: for data-parallel training see graphvar.distribute)"
        )
    raise AttributeError(f"module 'graphvar.train' has no attribute {name!r}")
