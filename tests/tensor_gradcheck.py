"""Finite-difference checks for autograd: every input's .grad after backward against
central differences of the same function evaluated without recording (float64)."""
import numpy as np

from fastconv import Tensor, no_grad
from gradcheck import assert_gradient_close
from thread_count import with_threads


def check_gradients(fn, *arrays, seed=0, rtol=1e-5, atol=1e-6):
    """fn(*tensors) -> Tensor. Backpropagates a random grad_out through fn and compares the
    gradient of every input with finite differences of sum(fn(...) * grad_out)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    grad_out = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(grad_out)
    for i, tensor in enumerate(tensors):
        def evaluate(x, i=i):
            args = [Tensor(a) for a in arrays]
            args[i] = Tensor(x)
            with no_grad():
                return fn(*args).data
        assert tensor.grad is not None, f"input {i} received no gradient"
        assert tensor.grad.shape == tensor.shape
        # Thousands of calls on tiny arrays: one thread avoids OpenMP start-up costs there.
        with_threads(1, assert_gradient_close, tensor.grad, evaluate, arrays[i], grad_out,
                     rtol=rtol, atol=atol)
    return tensors
