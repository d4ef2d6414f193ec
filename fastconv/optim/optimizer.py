"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, state dicts.

Parameters are any objects with `.data` and `.grad` ndarray attributes (fastconv.nn.Parameter,
or a stand-in); `.grad is None` means "no gradient this step" and the parameter is skipped.
The state_dict() layout is PyTorch's, so code written against torch.optim reads it unchanged:

    {'state': {index: {'step': int, 'exp_avg': ndarray, ...}},
     'param_groups': [{'lr': ..., ..., 'params': [index, ...]}]}

where parameters are numbered 0, 1, ... in group order.  Unlike PyTorch, state_dict() returns
COPIES of the state arrays: a snapshot taken mid-training does not keep changing as the
optimizer goes on updating its buffers in place.
"""
from collections.abc import MutableMapping

import numpy as np


class ParamState(MutableMapping):
    """`optimizer.state[p]`: a dict per parameter, keyed by the parameter's IDENTITY.

    Keyed by identity rather than by hash because a Tensor with elementwise `==` is not
    hashable, and two equal-valued parameters are still two parameters.
    """

    def __init__(self):
        self._entries = {}          # id(param) -> (param, state dict); holding param keeps id valid

    def __getitem__(self, param):
        entry = self._entries.get(id(param))
        if entry is None:
            raise KeyError(param)
        return entry[1]

    def __setitem__(self, param, value):
        self._entries[id(param)] = (param, value)

    def __delitem__(self, param):
        del self._entries[id(param)]

    def __contains__(self, param):
        return id(param) in self._entries

    def __iter__(self):
        return (param for param, _ in self._entries.values())

    def __len__(self):
        return len(self._entries)

    def setdefault(self, param, default=None):
        if param not in self:
            self[param] = default
        return self[param]


def _check_param(param):
    if not (hasattr(param, "data") and hasattr(param, "grad")):
        raise TypeError("optimizer can only optimize objects with .data and .grad attributes "
                        f"(such as fastconv.nn.Parameter), but one of the params is "
                        f"{type(param).__name__}")
    if not isinstance(param.data, np.ndarray) or param.data.dtype.kind != "f":
        raise TypeError("optimizer parameters must hold a floating-point ndarray in .data, "
                        f"got {type(param.data).__name__} "
                        f"{getattr(param.data, 'dtype', '')}".rstrip())


def _check_non_negative(name, value):
    if not value >= 0.0:            # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")


class Optimizer:
    """Base class of every optimizer.

    `params` is an iterable of parameters, of (name, parameter) pairs, or of dicts
    {'params': [...], 'lr': ..., ...} (parameter groups with their own hyper-parameters;
    missing keys take the optimizer's defaults).  Subclasses implement `_check_group(group)`
    (hyper-parameter validation, run for the defaults and for every added group) and
    `_update(param, grad, state, group)`.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.state = ParamState()
        self.param_groups = []
        if hasattr(params, "data") and hasattr(params, "grad"):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"parameters or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters must be an ordered collection (a list), not a "
                            "set: the order of a set changes between runs")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group)
                         if key not in ("params", "param_names"))
        lines.append(")")
        return "\n".join(lines)

    def _check_group(self, group):
        raise NotImplementedError

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with a 'params' entry) with its own hyper-parameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if hasattr(params, "data") and hasattr(params, "grad"):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters must be an ordered collection (a list), not a "
                            "set: the order of a set changes between runs")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with or without names; "
                                 "some param names are missing")
            group["param_names"] = names
            params = [p[1] for p in params]
        for param in params:
            _check_param(param)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)

        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("optimizer got a parameter group with duplicate parameters")
        for other in self.param_groups:
            if ("param_names" in other) != ("param_names" in group):
                raise ValueError("all optimizer param groups should be with or without names")
            if not set(ids).isdisjoint(id(p) for p in other["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set every p.grad to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; returns closure() if given.

        `closure` (optional) re-evaluates the model and returns the loss; it is called
        before the update, as in PyTorch.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                grad = np.asarray(grad)
                if grad.shape != param.data.shape:
                    raise ValueError(f"gradient shape {grad.shape} does not match parameter "
                                     f"shape {param.data.shape}")
                state = self.state.setdefault(param, {})
                self._update(param.data, grad, state, group)
        return loss

    def state_dict(self):
        """The optimizer's state as {'state': {index: {...}}, 'param_groups': [{..., 'params': [index]}]}.

        Arrays are copies; hyper-parameters are plain Python values.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                packed["params"].append(index_of[id(param)])
            groups.append(packed)
        state = {}
        for param, param_state in self.state.items():
            if id(param) in index_of and param_state:
                state[index_of[id(param)]] = {
                    key: np.array(value, copy=True) if isinstance(value, np.ndarray) else value
                    for key, value in param_state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state_dict() output: hyper-parameters per group and the per-parameter state.

        The optimizer must have been built over the same number of groups and group sizes;
        parameter i of the saved dict becomes the i-th parameter here, in group order.
        State arrays are copied and cast to the parameter's dtype.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has "
                                 f"{len(saved['params'])} parameters, the optimizer's has "
                                 f"{len(group['params'])}")
        param_of = {}
        for saved, group in zip(saved_groups, self.param_groups):
            param_of.update(zip(saved["params"], group["params"]))

        new_state = ParamState()
        for index, param_state in state_dict["state"].items():
            index = int(index)
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter {index}, "
                                 "which is in none of its parameter groups")
            param = param_of[index]
            restored = {}
            for key, value in param_state.items():
                if isinstance(value, np.ndarray) and value.ndim > 0:
                    if value.shape != param.data.shape:
                        raise ValueError(f"loaded state '{key}' of parameter {index} has shape "
                                         f"{value.shape}, the parameter has {param.data.shape}")
                    value = np.array(value, dtype=param.data.dtype, copy=True)
                elif isinstance(value, np.ndarray):       # a 0-d array, as np.savez makes of ints
                    value = value.item()
                restored[key] = value
            new_state[param] = restored

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            restored = {key: value for key, value in saved.items() if key != "params"}
            if isinstance(restored.get("betas"), list):
                restored["betas"] = tuple(restored["betas"])
            restored["params"] = group["params"]
            new_groups.append(restored)
        self.state = new_state
        self.param_groups = new_groups
