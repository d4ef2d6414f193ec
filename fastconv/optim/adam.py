"""Adam and AdamW, with PyTorch's single-tensor formulas (bias correction included).

For each parameter p with gradient g, at step t = 1, 2, ...:

    g = -g                                    if maximize
    g = g + weight_decay * p                  Adam: L2 penalty folded into the gradient
    p = p * (1 - lr * weight_decay)           AdamW: decoupled decay, before the moments
    m = m + (1 - beta1) * (g - m)             (PyTorch's lerp; m starts at 0)
    v = beta2 * v + (1 - beta2) * g * g       (v starts at 0)
    v_max = max(v_max, v)                     if amsgrad; then v_max replaces v below
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps
    p = p - (lr / (1 - beta1**t)) * m / denom
"""
import numpy as np

from fastconv.optim.optimizer import Optimizer, _check_non_negative


def _check_betas(betas):
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    for i, beta in enumerate((beta1, beta2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")


class Adam(Optimizer):
    """Adam (Kingma & Ba), with weight_decay as an L2 term added to the gradient.

    Args:
        params: iterable of parameters, (name, parameter) pairs or parameter-group dicts.
        lr: learning rate (>= 0).  betas: (beta1, beta2), each in [0, 1).
        eps: added to the denominator (>= 0).  weight_decay: (>= 0).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: ascend the objective instead of descending.
    State per parameter: 'step' (int), 'exp_avg', 'exp_avg_sq', and 'max_exp_avg_sq' if amsgrad.
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check_group(self, group):
        _check_non_negative("lr", group["lr"])
        _check_betas(group["betas"])
        _check_non_negative("eps", group["eps"])
        _check_non_negative("weight_decay", group["weight_decay"])

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(p)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]

        l2 = weight_decay != 0 and not self._decoupled_weight_decay
        g = grad
        if group["maximize"] or l2:
            g = np.empty_like(p)    # the effective gradient: grad itself is never written
            if l2:
                np.multiply(p, weight_decay, out=g)
                (np.subtract if group["maximize"] else np.add)(g, grad, out=g)
            else:
                np.negative(grad, out=g)
        if weight_decay != 0 and self._decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        work = np.empty_like(p)     # this step's scratch array

        # exp_avg.lerp_(g, 1 - beta1), with lerp's two branches for accuracy as in PyTorch
        weight = 1 - beta1
        np.subtract(g, exp_avg, out=work)
        if abs(weight) < 0.5:
            work *= weight
            exp_avg += work
        else:
            work *= 1 - weight
            np.subtract(g, work, out=exp_avg)

        exp_avg_sq *= beta2
        np.multiply(g, 1 - beta2, out=work)
        work *= g
        exp_avg_sq += work

        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        second_moment = exp_avg_sq
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second_moment = state["max_exp_avg_sq"]
        denom = np.sqrt(second_moment, out=work)
        denom /= bias_correction2_sqrt
        denom += eps
        # p.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
        update = np.divide(exp_avg, denom, out=denom)
        update *= lr / bias_correction1
        p -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay.

    Same arguments and state as Adam; weight_decay defaults to 1e-2.
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
