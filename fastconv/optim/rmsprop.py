"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum (PyTorch's formulas).

For each parameter p with gradient g, at every step:

    g = -g                                    if maximize
    g = g + weight_decay * p                  if weight_decay != 0
    v = alpha * v + (1 - alpha) * g * g       (v starts at 0)
    if centered:
        a = a + (1 - alpha) * (g - a)         (running mean of g, PyTorch's lerp; starts at 0)
        avg = sqrt(v - a * a) + eps
    else:
        avg = sqrt(v) + eps
    if momentum > 0:
        b = momentum * b + g / avg            (b starts at 0)
        p = p - lr * b
    else:
        p = p - lr * g / avg
"""
import numpy as np

from fastconv.optim.optimizer import Optimizer, _check_non_negative


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of its recent magnitudes.

    Args:
        params: iterable of parameters, (name, parameter) pairs or parameter-group dicts.
        lr: learning rate (>= 0).  alpha: smoothing constant (>= 0).  eps: (>= 0).
        weight_decay: L2 penalty (>= 0).  momentum: momentum factor (>= 0).
        centered: normalise by the estimated variance of the gradient instead of its
            second moment.  maximize: ascend the objective instead of descending.
    State per parameter: 'step' (int), 'square_avg', 'momentum_buffer' if momentum > 0,
    'grad_avg' if centered.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_group(self, group):
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_non_negative(name, group[name])

    def _update(self, p, grad, state, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(p)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        square_avg = state["square_avg"]

        g = grad
        if group["maximize"] or weight_decay != 0:
            g = np.empty_like(p)    # the effective gradient: grad itself is never written
            if weight_decay != 0:
                np.multiply(p, weight_decay, out=g)
                (np.subtract if group["maximize"] else np.add)(g, grad, out=g)
            else:
                np.negative(grad, out=g)
        work = np.empty_like(p)     # this step's scratch array

        square_avg *= alpha
        np.multiply(g, 1 - alpha, out=work)
        work *= g
        square_avg += work

        if group["centered"]:
            grad_avg = state["grad_avg"]
            # grad_avg.lerp_(g, 1 - alpha), with lerp's two branches as in PyTorch
            weight = 1 - alpha
            np.subtract(g, grad_avg, out=work)
            if abs(weight) < 0.5:
                work *= weight
                grad_avg += work
            else:
                work *= 1 - weight
                np.subtract(g, work, out=grad_avg)
            avg = np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(square_avg, out=work)
        avg += eps

        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += np.divide(g, avg, out=avg)
            p -= np.multiply(buf, lr, out=work)
        else:
            # p.addcdiv_(g, avg, value=-lr)
            update = np.divide(g, avg, out=avg)
            update *= lr
            p -= update
