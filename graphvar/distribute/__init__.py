"""``graphvar.distribute``: data-parallel training and parallel checkpoints on Ray.

- :class:`Cluster` (needs the ``graphvar[ray]`` extra): N Ray actors, each building the same
  model from one function with one seed; ``step`` averages the workers' gradients with a fixed,
  rank-ordered reduction so the replicas stay bit-identical.
- :class:`SimulatedCluster`: the same workers in this process (no Ray), the same numbers.
- :class:`ParallelSaver`: each worker writes the tensors it owns, the coordinator merges them
  into one TensorFlow V2 checkpoint and alone keeps the state file and ``max_to_keep``.

See docs/distributed.md.
"""

from graphvar.distribute.worker import SparseGrad, Worker
from graphvar.distribute.reduce import NcclReducer, ObjectStoreReducer, rank_ordered_mean
from graphvar.distribute.coordinator import Coordinator, SimulatedCluster, split_batch
from graphvar.distribute.save import ParallelSaver, owners
from graphvar.distribute.cluster import Cluster, WorkerDiedError

__all__ = [
    "Cluster",
    "Coordinator",
    "NcclReducer",
    "ObjectStoreReducer",
    "ParallelSaver",
    "SimulatedCluster",
    "SparseGrad",
    "Worker",
    "WorkerDiedError",
    "owners",
    "rank_ordered_mean",
    "split_batch",
]
