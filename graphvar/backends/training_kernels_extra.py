"""The Adadelta, FTRL and proximal gradient descent updates, against an array module `xp`, in the
float32 operation order of TF's CPU functors (tensorflow/core/kernels/training_ops.cc).

Each is an ``update(step, var, *slots, *scalars_and_grad)`` for ``training_kernels.apply_op``, which
holds the slots' locks, checks shapes and turns the hyperparameters into scalars of the variable's
dtype. Checked against TensorFlow 2.21 (tests/fixtures/tf_extra.npz): FTRL (lr_power -0.5), FtrlV2
and proximal gradient descent bit for bit; Adadelta's var bit for bit and accum_update within a few
ULP (TF's Eigen rsqrt is a fast approximation); FTRL with another lr_power differs where Eigen's
vectorized pow does. On a GPU these run through CuPy (no kernels/optim.cu kernel for them).
"""

from __future__ import annotations

from typing import Any


def extra_updates(xp: Any) -> dict[str, Any]:
    """op type -> update function of the Apply* ops of this module."""

    def rsqrt(x: Any) -> Any:
        d = xp.sqrt(x)
        return xp.divide(x.dtype.type(1), d, out=d)

    def adadelta(step: Any, var: Any, accum: Any, accum_update: Any, lr: Any, rho: Any, eps: Any, g: Any) -> None:
        one = var.dtype.type(1)

        def update() -> Any:  # sqrt(accum_update + eps) * rsqrt(accum + eps) * grad
            u = xp.sqrt(accum_update + eps)
            u *= rsqrt(accum + eps)
            u *= g
            return u

        # accum = accum * rho + grad.square() * (1 - rho)
        t = xp.multiply(g, g)
        t *= one - rho
        accum *= rho
        accum += t
        u = update()
        # accum_update = accum_update * rho + update.square() * (1 - rho)
        t = xp.multiply(u, u)
        t *= one - rho
        accum_update *= rho
        accum_update += t
        # var -= update * lr
        u *= lr
        var -= u

    def ftrl_step(var: Any, accum: Any, linear: Any, g: Any, gs: Any, lr: Any, l1: Any, l2: Any, lr_power: Any) -> None:
        """gs: the gradient in linear's update (FtrlV2: with shrinkage); g: the one accumulated."""
        two = var.dtype.type(2)
        new_accum = accum + g * g
        if lr_power == var.dtype.type(-0.5):
            pa, pb = xp.sqrt(new_accum), xp.sqrt(accum)
        else:
            pa, pb = xp.power(new_accum, -lr_power), xp.power(accum, -lr_power)
        # linear += grad - (new_accum^-p - accum^-p) / lr * var
        t = pa - pb
        t /= lr
        t *= var
        xp.subtract(gs, t, out=t)
        linear += t
        # var = |linear| > l1 ? (l1 * sign(linear) - linear) / (new_accum^-p / lr + 2 * l2) : 0
        x = xp.sign(linear)
        x *= l1
        x -= linear
        pa /= lr
        pa += two * l2
        x /= pa
        var[...] = xp.where(xp.abs(linear) > l1, x, var.dtype.type(0))

    def ftrl(step: Any, var: Any, accum: Any, linear: Any, g: Any, lr: Any, l1: Any, l2: Any, lr_power: Any) -> None:
        ftrl_step(var, accum, linear, g, g, lr, l1, l2, lr_power)
        accum += g * g

    def ftrl_v2(step: Any, var: Any, accum: Any, linear: Any, g: Any, lr: Any, l1: Any, l2: Any, l2_shrinkage: Any,
                lr_power: Any) -> None:  # fmt: skip
        # TF >= 1.15: the shrinkage enters linear only; accum accumulates the plain gradient
        gs = g + var.dtype.type(2) * l2_shrinkage * var
        ftrl_step(var, accum, linear, g, gs, lr, l1, l2, lr_power)
        accum += g * g

    def proximal_gradient_descent(step: Any, var: Any, lr: Any, l1: Any, l2: Any, g: Any) -> None:
        one = var.dtype.type(1)
        var -= g * lr  # prox_var aliases var
        if l1 > 0:
            # var = sign(v) * max(|v| - lr * l1, 0) / (1 + l2 * lr)
            t = xp.abs(var)
            t -= lr * l1
            xp.maximum(t, var.dtype.type(0), out=t)
            t *= xp.sign(var)
            t /= one + l2 * lr
            var[...] = t
        else:
            var /= one + l2 * lr

    return {
        "ApplyAdadelta": adadelta,
        "ApplyFtrl": ftrl,
        "ApplyFtrlV2": ftrl_v2,
        "ApplyProximalGradientDescent": proximal_gradient_descent,
    }
