"""fastconv.optim.lr_scheduler: learning-rate sequences against closed forms and against
torch.optim.lr_scheduler (skipped without torch), state dict round trips, validation."""
import bisect
import json
import math

import numpy as np
import pytest

from fastconv.optim import SGD, Adam, RMSprop, Optimizer, lr_scheduler
from fastconv.optim.lr_scheduler import StepLR, MultiStepLR, CosineAnnealingLR, OneCycleLR


class StandIn:
    def __init__(self, data):
        self.data = data
        self.grad = None


def make_sgd(lr=0.1, groups=1, **kwargs):
    params = [StandIn(np.zeros(2)) for _ in range(groups)]
    return SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr,
               **kwargs)


def lr_sequence(scheduler, steps):
    """Learning rates of group 0 at last_epoch = 0, 1, ..., steps."""
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


def cos_anneal(start, end, pct):
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


def lin_anneal(start, end, pct):
    return start + (end - start) * pct


# ---------------------------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------------------------

def test_step_lr_closed_form():
    sched = StepLR(make_sgd(0.1), step_size=3, gamma=0.5)
    want = [0.1 * 0.5 ** (t // 3) for t in range(13)]
    np.testing.assert_allclose(lr_sequence(sched, 12), want, rtol=1e-14)
    assert sched.last_epoch == 12


def test_multistep_lr_closed_form():
    milestones = [2, 5, 5, 9]               # 5 listed twice: gamma**2 there
    sched = MultiStepLR(make_sgd(1.0), milestones, gamma=0.1)
    want = [0.1 ** bisect.bisect_right(milestones, t) for t in range(12)]
    np.testing.assert_allclose(lr_sequence(sched, 11), want, rtol=1e-14)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_closed_form_including_past_t_max(eta_min):
    base, T_max = 0.1, 5
    sched = CosineAnnealingLR(make_sgd(base), T_max=T_max, eta_min=eta_min)
    want = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2
            for t in range(3 * T_max + 1)]
    np.testing.assert_allclose(lr_sequence(sched, 3 * T_max), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("strategy,anneal", [("cos", cos_anneal), ("linear", lin_anneal)])
def test_one_cycle_two_phase_closed_form(strategy, anneal):
    max_lr, total, pct = 0.5, 20, 0.25
    opt = make_sgd(momentum=0.9)
    sched = OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=pct,
                       anneal_strategy=strategy, div_factor=10.0, final_div_factor=100.0)
    initial, minimum = max_lr / 10.0, max_lr / 10.0 / 100.0
    warm_end = pct * total - 1                      # 4.0: the lr peaks at step 4
    want_lr, want_mom = [], []
    for t in range(total):
        if t <= warm_end:
            f = t / warm_end
            want_lr.append(anneal(initial, max_lr, f))
            want_mom.append(anneal(0.95, 0.85, f))
        else:
            f = (t - warm_end) / (total - 1 - warm_end)
            want_lr.append(anneal(max_lr, minimum, f))
            want_mom.append(anneal(0.85, 0.95, f))
    lrs, moms = [], []
    for t in range(total):
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        if t < total - 1:
            sched.step()
    np.testing.assert_allclose(lrs, want_lr, rtol=1e-12)
    np.testing.assert_allclose(moms, want_mom, rtol=1e-12)
    assert lrs[0] == pytest.approx(initial) and max(lrs) == pytest.approx(max_lr)
    assert lrs[-1] == pytest.approx(minimum)


def test_one_cycle_three_phase_closed_form():
    max_lr, total, pct = 1.0, 20, 0.25
    sched = OneCycleLR(make_sgd(), max_lr=max_lr, total_steps=total, pct_start=pct,
                       three_phase=True, cycle_momentum=False)
    initial, minimum = max_lr / 25.0, max_lr / 25.0 / 1e4
    ends = [pct * total - 1, 2 * pct * total - 2, total - 1]      # 4, 8, 19
    want = []
    for t in range(total):
        if t <= ends[0]:
            want.append(cos_anneal(initial, max_lr, t / ends[0]))
        elif t <= ends[1]:
            want.append(cos_anneal(max_lr, initial, (t - ends[0]) / (ends[1] - ends[0])))
        else:
            want.append(cos_anneal(initial, minimum, (t - ends[1]) / (ends[2] - ends[1])))
    np.testing.assert_allclose(lr_sequence(sched, total - 1), want, rtol=1e-12)


def test_one_cycle_cycles_adam_beta1_and_keeps_beta2():
    opt = Adam([StandIn(np.zeros(2))], betas=(0.9, 0.99))
    sched = OneCycleLR(opt, max_lr=0.01, epochs=2, steps_per_epoch=5)
    assert sched.total_steps == 10
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    sched.step()
    sched.step()
    beta1, beta2 = opt.param_groups[0]["betas"]
    assert 0.85 <= beta1 < 0.95 and beta2 == 0.99


def test_one_cycle_refuses_stepping_past_total_steps():
    sched = OneCycleLR(make_sgd(), max_lr=0.1, total_steps=4)
    for _ in range(4):                      # last_epoch == total_steps is still allowed
        sched.step()
    with pytest.raises(ValueError, match="total_steps=4"):
        sched.step()


def test_one_cycle_zero_length_warmup_does_not_divide_by_zero():
    # pct_start * total_steps == 1: the warm-up phase ends at step 0, PyTorch divides 0 by 0
    sched = OneCycleLR(make_sgd(), max_lr=0.1, total_steps=10, pct_start=0.1)
    assert sched.get_last_lr()[0] == pytest.approx(0.1)
    assert all(np.isfinite(lr_sequence(sched, 9)))


def test_chainable_schedules_carry_a_manual_lr_change():
    opt = make_sgd(1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 10.0
    sched.step()
    assert sched.get_last_lr()[0] == 5.0


def test_every_group_is_scheduled():
    opt = make_sgd(0.1, groups=3)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    np.testing.assert_allclose(sched.get_last_lr(), [0.05, 0.1, 0.15])
    assert [g["initial_lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.2, 0.3])
    sched = OneCycleLR(make_sgd(groups=2), max_lr=[1.0, 2.0], total_steps=10)
    np.testing.assert_allclose(sched.get_last_lr(), [1.0 / 25, 2.0 / 25])
    with pytest.raises(ValueError, match="max_lr"):
        OneCycleLR(make_sgd(groups=2), max_lr=[1.0, 2.0, 3.0], total_steps=10)


# ---------------------------------------------------------------------------------------------
# Against PyTorch
# ---------------------------------------------------------------------------------------------

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.3), 12),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.5), 12),
    ("CosineAnnealingLR", dict(T_max=6), 20),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.005), 14),
    ("OneCycleLR", dict(max_lr=[0.5, 1.0], total_steps=17), 17),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=23, anneal_strategy="linear",
                        pct_start=0.4, div_factor=5.0, final_div_factor=50.0), 23),
    ("OneCycleLR", dict(max_lr=0.5, epochs=3, steps_per_epoch=7, three_phase=True,
                        base_momentum=0.8, max_momentum=0.9), 21),
]


def torch_and_ours(torch, opt_name, sched_name, kwargs, opt_kwargs):
    ours_p = [StandIn(np.zeros(2)), StandIn(np.zeros(3))]
    theirs_p = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    ours_opt = dict(SGD=SGD, Adam=Adam)[opt_name](
        [{"params": [ours_p[0]]}, {"params": [ours_p[1]], "lr": 0.2}], **opt_kwargs)
    theirs_opt = getattr(torch.optim, opt_name)(
        [{"params": [theirs_p[0]]}, {"params": [theirs_p[1]], "lr": 0.2}], **opt_kwargs)
    ours = getattr(lr_scheduler, sched_name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, sched_name)(theirs_opt, **kwargs)
    return ours, theirs


def group_values(opt, key):
    return [g[key][0] if key == "betas" else g[key] for g in opt.param_groups]


@pytest.mark.parametrize("opt_name,opt_kwargs,momentum_key",
                         [("SGD", dict(lr=0.1, momentum=0.9), "momentum"),
                          ("Adam", dict(lr=0.1), "betas")])
@pytest.mark.parametrize("sched_name,kwargs,steps", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_matches_torch(sched_name, kwargs, steps, opt_name, opt_kwargs, momentum_key):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_and_ours(torch, opt_name, sched_name, kwargs, opt_kwargs)
    for t in range(steps):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-13,
                                   err_msg=f"lr at step {t}")
        np.testing.assert_allclose(group_values(ours.optimizer, momentum_key),
                                   group_values(theirs.optimizer, momentum_key), rtol=1e-13,
                                   err_msg=f"{momentum_key} at step {t}")
        assert ours.last_epoch == theirs.last_epoch
        if t < steps - 1:
            ours.step()
            theirs.optimizer.step()       # keeps torch from warning about the call order
            theirs.step()


@pytest.mark.parametrize("sched_name,kwargs,steps", SCHEDULES[:4], ids=[s[0] for s in SCHEDULES[:4]])
def test_resume_with_last_epoch_matches_torch(sched_name, kwargs, steps):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_and_ours(torch, "SGD", sched_name, kwargs, dict(lr=0.1))
    for _ in range(3):
        ours.step()
        theirs.optimizer.step()
        theirs.step()
    ours2 = getattr(lr_scheduler, sched_name)(ours.optimizer, last_epoch=3, **kwargs)
    theirs2 = getattr(torch.optim.lr_scheduler, sched_name)(theirs.optimizer, last_epoch=3,
                                                             **kwargs)
    for _ in range(steps):
        np.testing.assert_allclose(ours2.get_last_lr(), theirs2.get_last_lr(), rtol=1e-13)
        ours2.step()
        theirs2.optimizer.step()
        theirs2.step()


# ---------------------------------------------------------------------------------------------
# State dicts and validation
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sched_name,kwargs,steps", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_state_dict_round_trip_resumes_identically(sched_name, kwargs, steps):
    def build():
        opt = SGD([{"params": [StandIn(np.zeros(2))]},
                   {"params": [StandIn(np.zeros(2))], "lr": 0.2}], lr=0.1, momentum=0.9)
        return getattr(lr_scheduler, sched_name)(opt, **kwargs)

    straight = build()
    half = steps // 2
    for _ in range(half):
        straight.step()
    saved_sched = json.loads(json.dumps(straight.state_dict()))  # survives plain serialisation
    saved_opt = straight.optimizer.state_dict()
    rest_straight = lr_sequence(straight, steps - 1 - half)

    resumed = build()
    resumed.optimizer.load_state_dict(saved_opt)
    resumed.load_state_dict(saved_sched)
    assert resumed.get_last_lr() == saved_sched["_last_lr"]
    assert resumed.last_epoch == half
    assert lr_sequence(resumed, steps - 1 - half) == rest_straight


def test_state_dict_excludes_the_optimizer():
    sched = StepLR(make_sgd(), step_size=2)
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 0 and state["base_lrs"] == [0.1]


def test_resume_without_initial_lr_is_refused():
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(make_sgd(), step_size=2, last_epoch=5)


BAD = [
    (StepLR, dict(step_size=0), "step_size"),
    (StepLR, dict(step_size=2.5), "step_size"),
    (StepLR, dict(step_size=2, gamma=-1.0), "gamma"),
    (MultiStepLR, dict(milestones=[1.5]), "milestones"),
    (CosineAnnealingLR, dict(T_max=0), "T_max"),
    (CosineAnnealingLR, dict(T_max=3, eta_min=-1.0), "eta_min"),
    (CosineAnnealingLR, dict(T_max=3, last_epoch=-2), "last_epoch"),
    (OneCycleLR, dict(max_lr=0.1), "total_steps"),
    (OneCycleLR, dict(max_lr=0.1, total_steps=0), "total_steps"),
    (OneCycleLR, dict(max_lr=0.1, epochs=0, steps_per_epoch=3), "epochs"),
    (OneCycleLR, dict(max_lr=0.1, total_steps=5, pct_start=1.5), "pct_start"),
    (OneCycleLR, dict(max_lr=0.1, total_steps=5, anneal_strategy="exp"), "anneal_strategy"),
    (OneCycleLR, dict(max_lr=0.1, total_steps=5, div_factor=0.0), "div_factor"),
    (OneCycleLR, dict(max_lr=-0.1, total_steps=5), "max_lr"),
]


@pytest.mark.parametrize("cls,kwargs,name", BAD)
def test_validation(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(make_sgd(), **kwargs)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR(object(), step_size=2)
    with pytest.raises(TypeError, match="Optimizer"):
        OneCycleLR(object(), max_lr=0.1, total_steps=5)


def test_one_cycle_momentum_needs_momentum_or_betas():
    class NoMomentum(Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def _check_group(self, group):
            pass

    opt = NoMomentum([StandIn(np.zeros(2))])
    with pytest.raises(ValueError, match="cycle_momentum"):
        OneCycleLR(opt, max_lr=0.1, total_steps=5)
    OneCycleLR(opt, max_lr=0.1, total_steps=5, cycle_momentum=False)
    OneCycleLR(RMSprop([StandIn(np.zeros(2))]), max_lr=0.1, total_steps=5)
