"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay (PyTorch's formulas).

For each parameter p with gradient g, at every step:

    g = -g                            if maximize
    g = g + weight_decay * p          if weight_decay != 0
    if momentum != 0:
        b = g                          on the first step (the buffer starts AS the gradient)
        b = momentum * b + (1 - dampening) * g      afterwards
        g = g + momentum * b           if nesterov, else g = b
    p = p - lr * g
"""
import numpy as np

from fastconv.optim.optimizer import Optimizer, _check_non_negative


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    Args:
        params: iterable of parameters, (name, parameter) pairs or parameter-group dicts.
        lr: learning rate (>= 0).  momentum: momentum factor (>= 0).
        dampening: dampening of the momentum (>= 0).  weight_decay: L2 penalty (>= 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening == 0).
        maximize: ascend the objective instead of descending.
    State per parameter: 'momentum_buffer' (only when momentum != 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, group):
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            _check_non_negative(name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, p, grad, state, group):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        work = np.empty_like(p)     # this step's one scratch array; grad itself is never written
        g = grad
        if weight_decay != 0:
            np.multiply(p, weight_decay, out=work)
            (np.subtract if group["maximize"] else np.add)(work, grad, out=work)
            g = work
        elif group["maximize"]:
            g = np.negative(grad, out=work)

        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                if group["dampening"] == 0:
                    buf += g
                else:           # nesterov is excluded here, so g is dead after this line
                    buf += np.multiply(g, 1 - group["dampening"], out=work)
            if group["nesterov"]:
                if g is grad:
                    g = np.multiply(buf, momentum, out=work)
                    g += grad
                else:           # work already holds g: one temporary for momentum * buf
                    work += momentum * buf
            else:
                g = buf
        p -= np.multiply(g, lr, out=work)
