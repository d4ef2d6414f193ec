"""A small tape-based autograd: `Tensor` wraps an ndarray, every differentiable op is a
`Function` whose forward and backward sit side by side, and `Tensor.backward()` walks the
recorded graph in reverse topological order.

    x = fastconv.Tensor(np.ones((2, 3)), requires_grad=True)
    y = (x * 2 + 1).sum()
    y.backward()                 # x.grad == 2 everywhere

Semantics follow PyTorch: gradients ACCUMULATE into the `.grad` of leaf tensors across
backward calls (call zero_grad() between steps), intermediate tensors do not keep their
gradient (use register_hook to see it), the graph is freed by backward unless
retain_graph=True, and nothing is recorded inside `with fastconv.no_grad():`.

This file holds only glue: the elementwise arithmetic, reductions and reshapes that need
no kernel. Layers (convolution, pooling, ...) are Functions in fastconv.nn.functional that
call the fastconv.ops forward/backward pairs.
"""
import contextlib
import threading

import numpy as np

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "cat", "stack"]


class _GradMode(threading.local):
    # Thread-local like PyTorch's: a no_grad() in one thread (a data loader, an evaluator)
    # must not switch recording off in another.
    enabled = True


_mode = _GradMode()


def is_grad_enabled():
    """True when new operations are recorded for backward (the default)."""
    return _mode.enabled


class _SetGradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self._enabled = enabled
        self._previous = []   # a stack, so one instance may be entered recursively

    def __enter__(self):
        self._previous.append(_mode.enabled)
        _mode.enabled = self._enabled
        return self

    def __exit__(self, *exc):
        _mode.enabled = self._previous.pop()
        return False


def no_grad():
    """Context manager (and decorator) in which operations are not recorded: outputs have
    requires_grad=False and keep no references for backward. Use it for evaluation."""
    return _SetGradMode(False)


def enable_grad():
    """Context manager (and decorator) switching recording back on inside a no_grad block."""
    return _SetGradMode(True)


class _RemovableHandle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


_hook_ids = iter(range(1 << 62))


def _add_hook(hooks, fn):
    key = next(_hook_ids)
    hooks[key] = fn
    return _RemovableHandle(hooks, key)


class Function:
    """One differentiable operation. Subclasses define, side by side,

        def forward(self, *arrays, **options): -> ndarray   (self is the context: store
            on it, or with save_for_backward, whatever backward needs)
        def backward(self, grad_out): -> one gradient per positional input (a tuple, or a
            single array for one input), None where no gradient flows.

    and are called as `MyFunction.apply(*inputs, **options)`: Tensor inputs are unwrapped
    to their ndarrays, and `self.needs_input_grad[i]` tells backward which inputs need a
    gradient. Keyword options are never differentiated.
    """

    def __init__(self):
        # One edge per positional input: the Function that produced it, the leaf Tensor
        # itself, or None when no gradient flows there. Edges hold no intermediate arrays,
        # so an activation nobody saved for backward is freed as soon as it is dropped.
        self.edges = ()
        self.needs_input_grad = ()
        # Whether this call is recorded for backward (set before forward runs): forward may
        # skip work whose only use is backward's.
        self.recording = False
        self.saved_tensors = ()
        self.hooks = {}           # hooks registered on this Function's output tensor
        self._released = False

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls()
        arrays, needs = [], []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                needs.append(a._requires_grad)
            else:
                arrays.append(a)
                needs.append(False)
        ctx.needs_input_grad = tuple(needs)
        ctx.recording = _mode.enabled and True in needs
        out = Tensor(np.asarray(ctx.forward(*arrays, **kwargs)))
        if ctx.recording:
            ctx.edges = tuple((a if a._node is None else a._node) if need else None
                              for a, need in zip(args, ctx.needs_input_grad))
            ctx.out_shape, ctx.out_dtype = out.shape, out.dtype
            out._node = ctx
            out._requires_grad = True
        return out

    _KEPT = ("edges", "needs_input_grad", "hooks", "out_shape", "out_dtype")

    def _release(self):
        """Drop everything forward saved (the graph stays walkable, not differentiable)."""
        self.__dict__ = {k: v for k, v in self.__dict__.items() if k in self._KEPT}
        self.saved_tensors = ()
        self._released = True


class Tensor:
    """An ndarray (`.data`, shared, never copied on construction) plus what autograd needs:
    `.requires_grad`, `.grad` (None or an ndarray shaped like data), and for results of
    recorded operations the Function that made them."""

    # NumPy operators and ufuncs defer to Tensor: `ndarray * Tensor` and `np.float32(2) * Tensor`
    # call Tensor.__rmul__ (and stay recorded) instead of silently returning an ndarray.
    __array_ufunc__ = None
    __hash__ = object.__hash__   # identity, although == compares elementwise

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = np.asarray(data)
        self.grad = None
        self._node = None
        self._hooks = {}
        self._requires_grad = False
        if requires_grad:             # the setter's checks only where there is something to check
            self.requires_grad = requires_grad

    # ---- autograd state -------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if value and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        if not value and self._node is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; "
                               "use .detach()")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True for tensors the user made (not the result of a recorded operation);
        only leaves receive `.grad`."""
        return self._node is None

    @property
    def grad_fn(self):
        """The Function that produced this tensor, or None for a leaf."""
        return self._node

    def register_hook(self, fn):
        """Call fn(grad) with this tensor's gradient during backward; a non-None return
        value replaces the gradient. Returns a handle whose remove() unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        return _add_hook(self._hooks if self._node is None else self._node.hooks, fn)

    def detach(self):
        """A new leaf Tensor sharing this data, cut from the graph."""
        return Tensor(self.data)

    def zero_grad(self):
        self.grad = None

    def backward(self, grad=None, retain_graph=False):
        """Compute the gradient of this tensor with respect to every leaf it depends on
        and ADD it to each leaf's `.grad`. `grad` is dL/dself (default 1 for a one-element
        tensor). The graph is freed afterwards unless retain_graph=True."""
        if not self.requires_grad:
            raise RuntimeError("this tensor does not require grad and has no graph to "
                               "differentiate (was it computed under no_grad()?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for one-element "
                                   f"tensors, this one has shape {self.shape}")
            grad = np.ones(self.shape, self.dtype)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"grad must have this tensor's shape {self.shape}, "
                                 f"got {grad.shape}")
        _run_backward(self, grad, retain_graph)

    # ---- plain attributes -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The underlying ndarray (shared, not a copy)."""
        return self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __repr__(self):
        body = np.array2string(self.data, prefix="tensor(", separator=", ")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64):
            extra += f", dtype={self.data.dtype}"
        if self._node is not None:
            extra += f", grad_fn=<{type(self._node).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    # ---- differentiable operations ---------------------------------------------------
    def __add__(self, other):
        return Add.apply(self, other)

    def __radd__(self, other):
        return Add.apply(other, self)

    def __sub__(self, other):
        return Sub.apply(self, other)

    def __rsub__(self, other):
        return Sub.apply(other, self)

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __rmul__(self, other):
        return Mul.apply(other, self)

    def __truediv__(self, other):
        return Div.apply(self, other)

    def __rtruediv__(self, other):
        return Div.apply(other, self)

    def __neg__(self):
        return Neg.apply(self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            raise TypeError("only a number exponent is supported (tensor ** number)")
        return Pow.apply(self, exponent=exponent)

    def _compare(self, other, op):
        """Elementwise comparison: a bool Tensor, never recorded."""
        return Tensor(op(self.data, other.data if isinstance(other, Tensor) else other))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        return GetItem.apply(self, index=index)

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def abs(self):
        return Abs.apply(self)

    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        start = start_dim % max(self.ndim, 1)
        end = end_dim % max(self.ndim, 1)
        if self.ndim == 0:
            return self.reshape(1)
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return self.reshape(shape)

    def transpose(self, *axes):
        """Permute the axes (all of them, as numpy.transpose; none reverses them)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Transpose.apply(self, axes=axes or None)

    permute = transpose

    @property
    def T(self):
        return self.transpose()

    def astype(self, dtype):
        """A differentiable change of dtype (float32 <-> float64)."""
        return Cast.apply(self, dtype=np.dtype(dtype))

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def argmax(self, axis=None):
        """Indices of the maxima (an integer Tensor; not differentiable)."""
        return Tensor(np.argmax(self.data, axis=axis))


def _run_backward(root, grad, retain_graph):
    if root._node is None:
        _accumulate(root, grad)
        return
    nodes = _topological_order(root._node)
    grads = {id(root._node): grad}
    leaves = {}                       # id -> leaf, in the order gradients reach them
    for node in reversed(nodes):      # every Function before the ones that made its inputs
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node.hooks:
            for hook in list(node.hooks.values()):
                replaced = hook(g)
                if replaced is not None:
                    g = _as_grad(replaced, node.out_shape, node.out_dtype, "a hook")
        if node._released:
            raise RuntimeError("trying to backward through the graph a second time; pass "
                               "retain_graph=True to the first backward() to keep it")
        input_grads = node.backward(g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for edge, ig in zip(node.edges, input_grads):
            if edge is None or ig is None:
                continue
            if isinstance(edge, Tensor):
                ig = _as_grad(ig, edge.shape, edge.dtype, type(node).__name__)
                leaves[id(edge)] = edge
            else:
                ig = _as_grad(ig, edge.out_shape, edge.out_dtype, type(node).__name__)
            key = id(edge)
            grads[key] = ig if key not in grads else grads[key] + ig
        if not retain_graph:
            node._release()
    for key, leaf in leaves.items():  # each leaf's hooks see its summed gradient once
        _accumulate(leaf, grads.pop(key))


def _accumulate(leaf, grad):
    for hook in list(leaf._hooks.values()):
        replaced = hook(grad)
        if replaced is not None:
            grad = _as_grad(replaced, leaf.shape, leaf.dtype, "a hook")
    leaf.grad = grad.copy() if leaf.grad is None else leaf.grad + grad


def _topological_order(root):
    """Functions reachable from root, each after the Functions that made its inputs."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for edge in node.edges:
            if isinstance(edge, Function) and id(edge) not in visited:
                stack.append((edge, False))
    return order


def _as_grad(grad, shape, dtype, source):
    if type(grad) is np.ndarray and grad.shape == shape and grad.dtype == dtype:
        return grad               # what every built-in backward returns
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
    if grad.shape != shape:
        raise RuntimeError(f"{source} returned a gradient of shape {grad.shape} for a "
                           f"tensor of shape {shape}")
    return grad if grad.dtype == dtype else grad.astype(dtype)


# ---- elementwise glue ----------------------------------------------------------------------

def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) back down to an operand's `shape`."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Add(Function):
    def forward(self, a, b):
        self.shapes = np.shape(a), np.shape(b)
        return np.add(a, b)

    def backward(self, grad_out):
        return tuple(unbroadcast(grad_out, s) if need else None
                     for s, need in zip(self.shapes, self.needs_input_grad))


class Sub(Function):
    def forward(self, a, b):
        self.shapes = np.shape(a), np.shape(b)
        return np.subtract(a, b)

    def backward(self, grad_out):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad_out, self.shapes[0]) if need_a else None,
                unbroadcast(-grad_out, self.shapes[1]) if need_b else None)


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.multiply(a, b)

    def backward(self, grad_out):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad_out * b, np.shape(a)) if need_a else None,
                unbroadcast(grad_out * a, np.shape(b)) if need_b else None)


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.divide(a, b)

    def backward(self, grad_out):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad_out / b, np.shape(a)) if need_a else None,
                unbroadcast(-grad_out * a / (b * b), np.shape(b)) if need_b else None)


class Neg(Function):
    def forward(self, a):
        return np.negative(a)

    def backward(self, grad_out):
        return -grad_out


class Pow(Function):
    def forward(self, a, exponent):
        self.a, self.exponent = a, exponent
        return np.power(a, exponent)

    def backward(self, grad_out):
        return grad_out * self.exponent * np.power(self.a, self.exponent - 1)


class Exp(Function):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad_out):
        return grad_out * self.out


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad_out):
        return grad_out / self.a


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad_out):
        return grad_out * np.sign(self.a)   # 0 at 0, as PyTorch


class Cast(Function):
    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad_out):
        return grad_out.astype(self.in_dtype)


# ---- reductions and shapes -----------------------------------------------------------------

def _expand_reduced(grad_out, shape, axis, keepdims):
    """grad_out of a reduction over `axis`, broadcast back to the input's `shape`."""
    if axis is not None and not keepdims:
        grad_out = np.expand_dims(grad_out, axis)
    return np.broadcast_to(grad_out, shape).copy()


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return np.sum(a, axis=axis, keepdims=keepdims)

    def backward(self, grad_out):
        return _expand_reduced(grad_out, self.shape, self.axis, self.keepdims)


class Mean(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        out = np.mean(a, axis=axis, keepdims=keepdims)
        self.count = a.size // max(np.size(out), 1) if a.size else 0
        return out

    def backward(self, grad_out):
        return _expand_reduced(grad_out / self.count, self.shape, self.axis, self.keepdims)


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad_out):
        return grad_out.reshape(self.shape)


class Transpose(Function):
    def forward(self, a, axes=None):
        self.axes = axes
        return np.transpose(a, axes)

    def backward(self, grad_out):
        return np.transpose(grad_out, None if self.axes is None else np.argsort(self.axes))


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, grad_out):
        grad = np.zeros(self.shape, self.dtype)
        np.add.at(grad, self.index, grad_out)   # repeated indices add up
        return grad


class Concat(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad_out):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(grad_out, cuts, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad_out):
        return tuple(np.moveaxis(grad_out, self.axis, 0))


def cat(tensors, dim=0):
    """Concatenate tensors along axis `dim` (differentiable; gradients are split back)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    return Concat.apply(*tensors, axis=dim)


def stack(tensors, dim=0):
    """Stack same-shaped tensors along a new axis `dim` (differentiable)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return Stack.apply(*tensors, axis=dim)
