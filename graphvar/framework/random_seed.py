"""TF1's seed rules (``tensorflow/python/framework/random_seed.py``, ``get_seed``)."""

from __future__ import annotations

from graphvar.framework import ops

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1


def _truncate_seed(seed: int) -> int:
    return seed % _MAXINT32


def get_seed(op_seed: int | None) -> tuple[int | None, int | None]:
    """The (graph seed, op seed) pair an op uses.

    - graph seed set, op seed not: the op seed is the number of ops in the graph so far,
      so it changes when ops are added before it;
    - op seed set, graph seed not: the graph seed is DEFAULT_GRAPH_SEED;
    - neither: (None, None), a fresh non-deterministic draw in every Session.
    """
    graph = ops.get_default_graph()
    graph_seed = graph.seed
    if graph_seed is not None:
        if op_seed is None:
            op_seed = len(graph._ops)
        seeds = (_truncate_seed(graph_seed), _truncate_seed(op_seed))
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, _truncate_seed(op_seed))
    else:
        return None, None
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def set_random_seed(seed: int | None) -> None:
    """Sets the graph-level seed of the default graph."""
    ops.get_default_graph().seed = seed
