"""Convolution: forward + backward of the MNIST-deep model's two conv layers, graphvar against TF.

Each figure is one ``Session.run`` fetching the layer's output and its gradients (filter, and input
for the second layer, whose input is a hidden activation) for a fed output gradient, batch 50:
conv1 5x5x1x32 on 28x28x1, conv2 5x5x32x64 on 14x14x32, SAME, stride 1, float32. BLAS is pinned to
the same thread count on both sides (OpenBLAS for graphvar, TF's intra/inter-op pools), one thread
by default: the machine is shared, and one thread is the comparison that does not depend on it.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Any

import numpy as np

from benchmarks.harness import Goal, Row, frameworks, measure

LAYERS = {  # name: (input NHWC, filter HWIO)
    "conv1": ((50, 28, 28, 1), (5, 5, 1, 32)),
    "conv2": ((50, 14, 14, 32), (5, 5, 32, 64)),
}
THREADS = int(os.environ.get("GRAPHVAR_BENCH_THREADS", "1"))


def pin_blas_threads(n: int) -> tuple[str, Any]:
    """Sets OpenBLAS's thread count in this process; returns (what was done, a callable undoing it)."""
    try:
        import threadpoolctl

        limits = threadpoolctl.threadpool_limits(n, user_api="blas")
        return f"threadpoolctl: {n}", limits.restore_original_limits
    except ImportError:
        pass
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line})
    for path in libs:
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                setter, getter = f"{prefix}set_num_threads{suffix}", f"{prefix}get_num_threads{suffix}"
                if hasattr(lib, setter) and hasattr(lib, getter):
                    set_threads, before = getattr(lib, setter), getattr(lib, getter)()
                    set_threads(ctypes.c_int(n))
                    return f"{os.path.basename(path)} {n} thread(s)", functools.partial(
                        set_threads, ctypes.c_int(before)
                    )
    return "not pinned (no OpenBLAS found)", lambda: None


def _layer_bench(tf: Any, x_shape: tuple, f_shape: tuple, with_dx: bool) -> Any:
    g = tf.Graph()
    rng = np.random.default_rng(0)
    with g.as_default():
        x = tf.placeholder(tf.float32, x_shape)
        w = tf.Variable(tf.truncated_normal(f_shape, stddev=0.1, seed=1))
        y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
        dy = tf.placeholder(tf.float32, y.shape.as_list())
        grads = tf.gradients(y, [x, w] if with_dx else [w], grad_ys=dy)
        init = tf.global_variables_initializer()
    config = None
    if hasattr(tf, "ConfigProto"):
        config = tf.ConfigProto(intra_op_parallelism_threads=THREADS, inter_op_parallelism_threads=THREADS)
    sess = tf.Session(graph=g, config=config)
    sess.run(init)
    feed = {
        x: rng.standard_normal(x_shape).astype(np.float32),
        dy: rng.standard_normal(y.shape.as_list()).astype(np.float32),
    }
    fetches = [y, *grads]
    return sess, lambda: sess.run(fetches, feed)


def _case(layer: str) -> Any:
    def case(ctx: Any) -> list[Row]:
        pinned, restore = pin_blas_threads(THREADS)
        ctx.closers.append(restore)
        x_shape, f_shape = LAYERS[layer]
        benches: dict[str, Any] = {}
        for name, tf in frameworks(ctx).items():
            if isinstance(tf, str):
                benches[name] = tf
                continue
            sess, fn = _layer_bench(tf, x_shape, f_shape, with_dx=layer != "conv1")
            ctx.closers.append(sess.close)
            benches[name] = fn
        stats = measure(benches, reps=ctx.reps, target_s=ctx.target_s)
        figure = f"{layer} fwd+bwd {'x'.join(map(str, f_shape))} on {'x'.join(map(str, x_shape[1:]))}, batch 50"
        return [Row(f"conv_{layer}", figure, "time", stats.pop("graphvar"), stats,
                    goals=[Goal("tf", ">=", 0.5, "≥ 0.5× TF's throughput")],
                    note=f"per run of 50 images, {THREADS} thread(s); BLAS {pinned}")]  # fmt: skip

    return case


CASES = {"conv_conv1": _case("conv1"), "conv_conv2": _case("conv2")}
