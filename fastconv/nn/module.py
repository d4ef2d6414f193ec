"""`Module`, the base of every layer and model, and `Parameter`.

A Module owns Parameters, buffers (running statistics) and child Modules, registered by
plain attribute assignment as in PyTorch; names are dotted paths (`layer1.0.conv1.weight`).
"""
from collections import OrderedDict, namedtuple

import numpy as np

from fastconv.autograd import Function, Tensor, _add_hook


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter; requires_grad=True by default."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _BackwardHookIdentity(Function):
    """Passes the module's input through unchanged; its backward sees dL/dinput and calls
    the module's full backward hooks with it and with the dL/doutput seen earlier."""

    def forward(self, x, module, state):
        self.module, self.state = module, state
        return x

    def backward(self, grad_in):
        for hook in list(self.module._backward_hooks.values()):
            replaced = hook(self.module, (grad_in,), self.state["grad_output"])
            if replaced is not None:
                grad_in = replaced[0] if isinstance(replaced, tuple) else replaced
        return grad_in


class Module:
    """Base class: subclasses set parameters, buffers and submodules in __init__ and
    define forward(); calling the module runs forward with its hooks."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration --------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("call super().__init__() before assigning attributes "
                                 "in a Module's __init__")
        if isinstance(value, Parameter):
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in self._buffers:
            self._buffers[name] = self._as_buffer(name, value)
        elif name in self._parameters or name in self._modules:
            if value is not None:
                kind = "Parameter" if name in self._parameters else "Module"
                raise TypeError(f"cannot assign a {type(value).__name__} to {name!r}: "
                                f"a {kind} or None is expected")
            (self._parameters if name in self._parameters else self._modules)[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop `name` from every registry and plain attribute (it is being re-assigned)."""
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    @staticmethod
    def _as_buffer(name, value):
        if value is None or isinstance(value, Tensor):
            return value
        if isinstance(value, np.ndarray):
            return Tensor(value)
        raise TypeError(f"buffer {name!r} must be a Tensor, an ndarray or None, "
                        f"got {type(value).__name__}")

    def __getattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"parameter {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A non-trainable state array saved in state_dict (unless persistent=False) and
        moved with the module, such as batch-norm's running statistics."""
        if "." in name or not name:
            raise KeyError(f"buffer name must be non-empty and contain no '.', got {name!r}")
        self._forget(name)
        self._buffers[name] = self._as_buffer(name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{name!r} must be a Module, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ---- traversal -----------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(name, module) for this module and every descendant, depth first, each once."""
        seen = set()

        def walk(module, prefix):
            if id(module) in seen:
                return
            seen.add(id(module))
            yield prefix, module
            for name, child in module._modules.items():
                if child is not None:
                    yield from walk(child, f"{prefix}.{name}" if prefix else name)

        yield from walk(self, prefix)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry, recurse):
        seen = set()
        modules = self.named_modules() if recurse else [("", self)]
        for prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self, recurse=True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules appears once."""
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse=True):
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse):
            yield buf

    # ---- modes and gradients ----------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (batch statistics, active dropout) on this module and every
        descendant; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: running statistics, dropout off. Same as train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's .grad (to None, or to zeros with set_to_none=False)."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = np.zeros_like(param.data)

    def apply(self, fn):
        """Call fn(module) on every descendant and then on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype):
        """Convert floating-point parameters and buffers to `dtype` in place (the same
        Parameter objects, new arrays); gradients are dropped. Returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {dtype}")
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor.data.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                tensor.grad = None
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # ---- calling -------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._backward_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)      # no hooks: nothing else to do
        for hook in list(self._forward_pre_hooks.values()):
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        state = None
        if self._backward_hooks:
            state = {"grad_output": (None,)}
            args = tuple(_BackwardHookIdentity.apply(a, module=self, state=state)
                         if isinstance(a, Tensor) and a.requires_grad else a for a in args)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        if state is not None:
            self._attach_backward_hooks(args, output, state)
        return output

    def _attach_backward_hooks(self, args, output, state):
        if not (isinstance(output, Tensor) and output.requires_grad):
            return
        inputs_tracked = any(isinstance(a, Tensor) and a.requires_grad for a in args)

        def on_grad_output(grad):
            state["grad_output"] = (grad,)
            if not inputs_tracked:  # no input gradient will come: report it now, as None
                for hook in list(self._backward_hooks.values()):
                    hook(self, (None,), state["grad_output"])

        output.register_hook(on_grad_output)

    def register_forward_pre_hook(self, hook):
        """hook(module, args) before forward; may return replacement args."""
        return _add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """hook(module, args, output) after forward; a non-None return replaces output."""
        return _add_hook(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook):
        """hook(module, grad_input, grad_output) during backward, with 1-tuples holding
        dL/d(the module's tensor input) (None when the input needs no gradient) and
        dL/d(its output); a returned tuple replaces grad_input. For modules with one
        tensor input and one tensor output (every built-in layer)."""
        return _add_hook(self._backward_hooks, hook)

    register_backward_hook = register_full_backward_hook

    # ---- state ---------------------------------------------------------------------
    def state_dict(self):
        """An ordered dict of dotted name -> ndarray COPY of every parameter and persistent
        buffer (e.g. `conv1.weight`, `bn1.running_mean`, `bn1.num_batches_tracked`)."""
        state = OrderedDict()
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dot + name] = param.data.copy()
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent:
                    state[dot + name] = buf.data.copy()
        return state

    def _state_entries(self):
        """dotted name -> the Tensor behind each state_dict entry."""
        entries = OrderedDict()
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    entries[dot + name] = param
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent:
                    entries[dot + name] = buf
        return entries

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or Tensors) from `state_dict` (any mapping, e.g. an NpzFile) into
        this module's parameters and buffers, in place and cast to their dtypes.

        strict=True raises RuntimeError naming every missing and unexpected key; with
        strict=False they are only returned. A shape mismatch always raises (nothing is
        copied then). Returns IncompatibleKeys(missing_keys, unexpected_keys)."""
        entries = self._state_entries()
        keys = list(state_dict.keys())
        missing = [k for k in entries if k not in state_dict]
        unexpected = [k for k in keys if k not in entries]
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(map(repr, unexpected)))
        values = {}
        for key, tensor in entries.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != tensor.data.shape:
                errors.append(f"size mismatch for {key}: copying an array of shape "
                              f"{value.shape}, the shape in this module is {tensor.data.shape}")
            values[key] = value
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for key, value in values.items():
            target = entries[key]
            if target.data.flags.writeable:
                np.copyto(target.data, value, casting="unsafe")
            else:
                target.data = value.astype(target.data.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ---- description ---------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in repr (subclasses override)."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"({name}): " + "\n  ".join(child_lines))
        if not lines:
            return f"{type(self).__name__}()"
        if not self._modules and len(lines) == 1:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def summary(self, input_shape, dtype=np.float32, print_fn=print):
        """Print and return a per-layer table (name, type, output shape, parameters,
        multiply-adds); see fastconv.nn.summary.summary."""
        from fastconv.nn.summary import summary
        return summary(self, input_shape, dtype=dtype, print_fn=print_fn)
