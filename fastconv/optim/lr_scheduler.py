"""Learning-rate schedules: StepLR, MultiStepLR, CosineAnnealingLR, OneCycleLR.

They follow PyTorch's (2.x) semantics step for step, so a schedule written for torch.optim
gives the same learning rates here:
- Building a scheduler performs its first step: `last_epoch` goes from -1 to 0 and the groups'
  'lr' is set to the schedule's value at 0 (for OneCycleLR, max_lr / div_factor).  Each group
  remembers its starting rate as group['initial_lr'] (the scheduler's `base_lrs`).
- Call `scheduler.step()` once per epoch (OneCycleLR: once per batch) AFTER
  `optimizer.step()`; it increments `last_epoch` and writes the new rate into every group.
- StepLR, MultiStepLR and CosineAnnealingLR are "chainable" like PyTorch's: each step
  rescales the group's CURRENT lr, so two schedulers on one optimizer compose, and an lr
  changed by hand is carried on.  OneCycleLR computes its values from scratch.
- Resuming: build the scheduler with `last_epoch=n` (the groups must already have
  'initial_lr', e.g. from the optimizer's load_state_dict()), or, simpler, build it
  normally and call `scheduler.load_state_dict(saved)`.
"""
import math
from collections import Counter

from fastconv.optim.optimizer import Optimizer


def _per_group(name, optimizer, value):
    """One value per parameter group: a list/tuple of that length, or a scalar repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have one value per parameter group "
                             f"({len(optimizer.param_groups)}), got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


class LRScheduler:
    """Base class: subclasses define get_lr() (the rates for the current `last_epoch`)."""

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not a fastconv.optim Optimizer")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an integer >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0 (load the "
                                   "optimizer's state dict first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        """Advance the schedule by one epoch (or batch) and set every group's 'lr'."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates (one per group) set by the most recent step()."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer, as PyTorch does (plain Python values)."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore state_dict() output; the next step() continues where the saved one stopped."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the lr by `gamma` every `step_size` epochs: lr = base_lr * gamma**(epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _check_positive_int("step_size", step_size)
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiply the lr by `gamma` at each epoch listed in `milestones` (a milestone listed
    k times multiplies by gamma**k): lr = base_lr * gamma**(number of milestones <= epoch)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, int):
                raise ValueError(f"milestones must be integers, got {m!r}")
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in self.optimizer.param_groups]
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        # a round trip through JSON turns the Counter's int keys into strings
        self.milestones = Counter({int(k): int(v) for k, v in dict(self.milestones).items()})


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from base_lr to eta_min over T_max epochs (no restarts):

        lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    computed recursively from the current lr, like PyTorch (so manual lr changes carry over);
    past T_max the rate climbs back along the cosine, as in PyTorch.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_positive_int("T_max", T_max)
        if not eta_min >= 0:
            raise ValueError(f"eta_min must be >= 0, got {eta_min}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        t, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T_max)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T_max) % (2 * T_max) == 0:
            # the recursion's ratio is 0/0 at the trough; step up from eta_min explicitly
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max))
                * (group["lr"] - eta_min) + eta_min for group in groups]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): warm up from max_lr/div_factor to max_lr over the
    first pct_start of total_steps, then anneal down to max_lr/(div_factor*final_div_factor).

    Step it once per BATCH.  Args (as PyTorch's):
        max_lr: peak lr (a number, or one per group).
        total_steps, or epochs and steps_per_epoch (total_steps = epochs * steps_per_epoch).
        pct_start: fraction of the steps spent warming up (in [0, 1]).
        anneal_strategy: 'cos' or 'linear'.
        cycle_momentum: cycle momentum (SGD, RMSprop: group['momentum']; Adam: beta1)
            inversely to the lr between max_momentum and base_momentum.
        base_momentum, max_momentum: momentum bounds (numbers or one per group).
        div_factor: initial_lr = max_lr / div_factor.
        final_div_factor: min_lr = initial_lr / final_div_factor.
        three_phase: warm up, come back down to initial_lr symmetrically, then anneal to
            min_lr (the paper's schedule) instead of fastai's two phases.
    Stepping past total_steps raises ValueError.  A phase of zero length (e.g. pct_start *
    total_steps == 1) is treated as already finished instead of dividing by zero.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not a fastconv.optim Optimizer")
        if total_steps is not None:
            _check_positive_int("total_steps", total_steps)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _check_positive_int("epochs", epochs)
            _check_positive_int("steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        if isinstance(pct_start, bool) or not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for lr in max_lrs:
            if not lr >= 0:
                raise ValueError(f"max_lr must be >= 0, got {lr}")
        self.anneal_strategy = anneal_strategy

        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * self.total_steps) - 1, start_lr="initial_lr",
                     end_lr="max_lr", start_momentum="max_momentum",
                     end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * self.total_steps) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * self.total_steps) - 1, start_lr="initial_lr",
                     end_lr="max_lr", start_momentum="max_momentum",
                     end_momentum="base_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]

        if last_epoch == -1:
            for lr, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("cycle_momentum=True needs an optimizer with 'momentum' or "
                                 f"'betas'; {type(optimizer).__name__} has neither")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(max_momentums, base_momentums,
                                                optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m_max, *group["betas"][1:])
                    else:
                        group["momentum"] = m_max
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"Tried to step {step_num} times; OneCycleLR was built for "
                             f"total_steps={self.total_steps}")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == last:
                    span = end_step - start_step
                    pct = (step_num - start_step) / span if span != 0 else 1.0
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs
