"""Child of test_coordinator_kill: a 4-worker simulated save of step 2 that dies at one point.

Usage: coordinator_kill_child.py DIR POINT, POINT one of ``worker:RANK:HOOK`` (the process exits
when that worker reaches HOOK), ``replace:NAME`` (exits instead of the save's first os.replace to a
file whose name contains NAME) or ``state`` (exits instead of writing the checkpoint state file). Prints "saved 1" first.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dist_models import batches, die, mlp_model  # noqa: E402

import graphvar.distribute.save as save_module  # noqa: E402
from graphvar.distribute import ParallelSaver, SimulatedCluster  # noqa: E402


def arm(sim: SimulatedCluster, point: str) -> None:
    kind, _, rest = point.partition(":")
    if kind == "worker":
        rank, hook = rest.split(":", 1)
        sim.on(int(rank), hook, die)
    elif kind == "replace":
        real = os.replace

        def dying_replace(src, dst, **kw):
            if rest in os.path.basename(os.fspath(dst)):
                os._exit(9)
            return real(src, dst, **kw)

        os.replace = dying_replace
    elif kind == "state":
        save_module.update_checkpoint_state = lambda *a, **k: os._exit(9)
    else:
        raise SystemExit(f"unknown point {point}")


def main() -> None:
    directory, point = sys.argv[1], sys.argv[2]
    b = batches(2)
    with SimulatedCluster(4) as sim:
        sim.build(mlp_model, seed=3)
        saver = ParallelSaver()
        sim.step(b[0])
        saver.save(sim, os.path.join(directory, "m"), global_step=1)
        print("saved 1", flush=True)
        sim.step(b[1])
        arm(sim, point)
        saver.save(sim, os.path.join(directory, "m"), global_step=2)
        print("saved 2", flush=True)


if __name__ == "__main__":
    main()
