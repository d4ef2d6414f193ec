"""fastconv.optim optimizers: PyTorch's update formulas, checked two ways.

1. Two steps of every optimizer written out by hand from the formulas (runs without torch).
2. Several-step trajectories against torch.optim in float64 (skipped when torch is absent).
Plus the optimizer machinery: parameter groups, zero_grad, state dicts, validation.
"""
import copy
import math

import numpy as np
import pytest

from fastconv.optim import SGD, Adam, AdamW, RMSprop, Optimizer


class StandIn:
    """The least an optimizer needs: .data and .grad ndarrays."""

    def __init__(self, data):
        self.data = data
        self.grad = None


try:                                    # the real Parameter, once fastconv.nn exists
    from fastconv.nn import Parameter as _Parameter
except ImportError:
    _Parameter = None

PARAM_CLASSES = [StandIn] + ([_Parameter] if _Parameter is not None else [])


def make_params(arrays, cls=StandIn):
    return [cls(np.array(a, dtype=np.float64)) for a in arrays]


def run(opt_cls, kwargs, p0, grads, cls=StandIn):
    """Apply `grads` (a list of per-step gradient arrays) to one parameter starting at p0."""
    (param,) = make_params([p0], cls)
    opt = opt_cls([param], **kwargs)
    for g in grads:
        param.grad = np.array(g, dtype=np.float64)
        opt.step()
    return param.data


P0 = np.array([0.5, -1.5, 2.0, 0.0])
G1 = np.array([1.0, 0.25, -3.0, 0.5])
G2 = np.array([-0.5, 0.75, 1.0, -2.0])


# ---------------------------------------------------------------------------------------------
# 1. Two steps by hand
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", PARAM_CLASSES)
def test_sgd_plain_by_hand(cls):
    got = run(SGD, dict(lr=0.1), P0, [G1, G2], cls)
    np.testing.assert_allclose(got, P0 - 0.1 * G1 - 0.1 * G2, rtol=1e-14)


def test_sgd_momentum_dampening_weight_decay_by_hand():
    lr, m, damp, wd = 0.1, 0.9, 0.25, 0.01
    d1 = G1 + wd * P0
    b1 = d1                               # first step: the buffer IS the gradient (no dampening)
    p1 = P0 - lr * b1
    d2 = G2 + wd * p1
    b2 = m * b1 + (1 - damp) * d2
    p2 = p1 - lr * b2
    got = run(SGD, dict(lr=lr, momentum=m, dampening=damp, weight_decay=wd), P0, [G1, G2])
    np.testing.assert_allclose(got, p2, rtol=1e-13)


def test_sgd_nesterov_by_hand():
    lr, m, wd = 0.1, 0.9, 0.01
    d1 = G1 + wd * P0
    b1 = d1
    p1 = P0 - lr * (d1 + m * b1)
    d2 = G2 + wd * p1
    b2 = m * b1 + d2
    p2 = p1 - lr * (d2 + m * b2)
    got = run(SGD, dict(lr=lr, momentum=m, nesterov=True, weight_decay=wd), P0, [G1, G2])
    np.testing.assert_allclose(got, p2, rtol=1e-13)


def test_sgd_maximize_by_hand():
    lr, m = 0.1, 0.5
    b1 = -G1
    p1 = P0 - lr * b1
    b2 = m * b1 - G2
    p2 = p1 - lr * b2
    got = run(SGD, dict(lr=lr, momentum=m, maximize=True), P0, [G1, G2])
    np.testing.assert_allclose(got, p2, rtol=1e-13)


def adam_by_hand(p, grads, lr, beta1, beta2, eps, wd, decoupled, amsgrad):
    m = v = vmax = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        vmax = np.maximum(vmax, v)
        second = vmax if amsgrad else v
        m_hat = m / (1 - beta1 ** t)
        p = p - lr * m_hat / (np.sqrt(second) / math.sqrt(1 - beta2 ** t) + eps)
    return p


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_by_hand(wd, amsgrad):
    # the second gradient is much smaller, so v shrinks and AMSGrad's maximum matters
    grads = [G1 * 10, G2 * 0.1]
    kw = dict(lr=0.01, betas=(0.8, 0.9), eps=1e-3, weight_decay=wd, amsgrad=amsgrad)
    want = adam_by_hand(P0, grads, 0.01, 0.8, 0.9, 1e-3, wd, decoupled=False, amsgrad=amsgrad)
    np.testing.assert_allclose(run(Adam, kw, P0, grads), want, rtol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_by_hand(amsgrad):
    grads = [G1 * 10, G2 * 0.1]
    kw = dict(lr=0.01, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.5, amsgrad=amsgrad)
    want = adam_by_hand(P0, grads, 0.01, 0.8, 0.9, 1e-3, 0.5, decoupled=True, amsgrad=amsgrad)
    np.testing.assert_allclose(run(AdamW, kw, P0, grads), want, rtol=1e-12)


def test_adam_amsgrad_really_differs():
    grads = [G1 * 10, G2 * 0.1]
    plain = run(Adam, dict(lr=0.01, betas=(0.8, 0.9)), P0, grads)
    ams = run(Adam, dict(lr=0.01, betas=(0.8, 0.9), amsgrad=True), P0, grads)
    assert np.min(np.abs(plain - ams)) > 1e-4


def test_adam_first_step_moves_by_lr():
    # bias correction makes the first step lr * g / (|g| + eps'): magnitude lr wherever g != 0
    got = run(Adam, dict(lr=0.01, eps=0.0), P0, [G1])
    np.testing.assert_allclose(got, P0 - 0.01 * np.sign(G1), rtol=1e-14)


def test_rmsprop_plain_by_hand():
    lr, alpha, eps = 0.01, 0.9, 1e-8
    v1 = (1 - alpha) * G1 * G1
    p1 = P0 - lr * G1 / (np.sqrt(v1) + eps)
    v2 = alpha * v1 + (1 - alpha) * G2 * G2
    p2 = p1 - lr * G2 / (np.sqrt(v2) + eps)
    got = run(RMSprop, dict(lr=lr, alpha=alpha, eps=eps), P0, [G1, G2])
    np.testing.assert_allclose(got, p2, rtol=1e-13)


def test_rmsprop_centered_momentum_weight_decay_by_hand():
    lr, alpha, eps, m, wd = 0.01, 0.9, 1e-3, 0.5, 0.1
    d1 = G1 + wd * P0
    v1 = (1 - alpha) * d1 * d1
    a1 = (1 - alpha) * d1
    b1 = d1 / (np.sqrt(v1 - a1 * a1) + eps)
    p1 = P0 - lr * b1
    d2 = G2 + wd * p1
    v2 = alpha * v1 + (1 - alpha) * d2 * d2
    a2 = alpha * a1 + (1 - alpha) * d2
    b2 = m * b1 + d2 / (np.sqrt(v2 - a2 * a2) + eps)
    p2 = p1 - lr * b2
    got = run(RMSprop, dict(lr=lr, alpha=alpha, eps=eps, momentum=m, weight_decay=wd,
                            centered=True), P0, [G1, G2])
    np.testing.assert_allclose(got, p2, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# 2. Trajectories against PyTorch
# ---------------------------------------------------------------------------------------------

TORCH_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.6), amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, momentum=0.5, maximize=True)),
]
OURS = dict(SGD=SGD, Adam=Adam, AdamW=AdamW, RMSprop=RMSprop)
STEPS = 6


def trajectory_data(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    grads = [[rng.standard_normal(a.shape).astype(dtype) for a in init] for _ in range(STEPS)]
    return init, grads


def run_both(torch, name, kwargs, init, grads):
    ours = [StandIn(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = OURS[name](ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for step_grads in grads:
        for p, t, g in zip(ours, theirs, step_grads):
            p.grad = g.copy()
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
    return ours, theirs, opt, topt


@pytest.mark.parametrize("name,kwargs", TORCH_CASES, ids=[f"{n}-{k}" for n, k in TORCH_CASES])
def test_matches_torch_float64(name, kwargs):
    torch = pytest.importorskip("torch")
    init, grads = trajectory_data(0)
    ours, theirs, opt, topt = run_both(torch, name, kwargs, init, grads)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-9, atol=1e-12)
    # same state dict layout and contents
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for key in ("lr", "weight_decay", "maximize"):
        assert sd["param_groups"][0][key] == tsd["param_groups"][0][key]
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for index, state in tsd["state"].items():
        assert set(sd["state"][index]) == set(state)
        for key, value in state.items():
            np.testing.assert_allclose(sd["state"][index][key], value.numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=key)


@pytest.mark.parametrize("name,kwargs", [TORCH_CASES[3], TORCH_CASES[7], TORCH_CASES[10],
                                         TORCH_CASES[14]])
def test_matches_torch_float32(name, kwargs):
    torch = pytest.importorskip("torch")
    init, grads = trajectory_data(1, np.float32)
    ours, theirs, _, _ = run_both(torch, name, kwargs, init, grads)
    for p, t in zip(ours, theirs):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_param_groups_match_torch():
    torch = pytest.importorskip("torch")
    init, grads = trajectory_data(2)
    ours = [StandIn(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.5, "nesterov": True}],
              lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [theirs[0]]},
                            {"params": [theirs[1]], "lr": 0.5, "nesterov": True}],
                           lr=0.1, momentum=0.9)
    for step_grads in grads:
        for p, t, g in zip(ours, theirs, step_grads):
            p.grad, t.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# 3. The machinery
# ---------------------------------------------------------------------------------------------

ALL_OPTIMIZERS = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.5)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (AdamW, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.9)),
]


@pytest.mark.parametrize("opt_cls,kwargs", ALL_OPTIMIZERS)
def test_state_dict_round_trip_resumes_identically(opt_cls, kwargs):
    init, grads = trajectory_data(3)

    def step(opt, params, step_grads):
        for p, g in zip(params, step_grads):
            p.grad = g.copy()
        opt.step()

    straight = make_params(init)
    opt = opt_cls([{"params": straight[:1]}, {"params": straight[1:], "lr": 0.02}], **kwargs)
    for step_grads in grads[:3]:
        step(opt, straight, step_grads)
    saved = opt.state_dict()
    saved_params = [p.data.copy() for p in straight]
    for step_grads in grads[3:]:
        step(opt, straight, step_grads)

    # resuming from the snapshot reproduces the straight run bit for bit, which also shows the
    # snapshot was not changed by the steps taken after it
    resumed = make_params(saved_params)
    fresh = opt_cls([{"params": resumed[:1]}, {"params": resumed[1:]}], **kwargs)
    fresh.load_state_dict(copy.deepcopy(saved))
    assert fresh.param_groups[1]["lr"] == 0.02
    for step_grads in grads[3:]:
        step(fresh, resumed, step_grads)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout():
    params = make_params([np.ones(3), np.ones(2), np.ones(4)])
    opt = Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}])
    params[0].grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["lr"] == 1e-3
    assert list(sd["state"]) == [0]             # only the parameter that had a gradient
    assert sd["state"][0]["step"] == 1
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["exp_avg"] is not opt.state[params[0]]["exp_avg"]


def test_load_state_dict_mismatch():
    a = Adam(make_params([np.ones(3), np.ones(2)]))
    b = Adam([{"params": make_params([np.ones(3)])}, {"params": make_params([np.ones(2)])}])
    with pytest.raises(ValueError, match="parameter groups"):
        b.load_state_dict(a.state_dict())
    c = Adam(make_params([np.ones(3)]))
    with pytest.raises(ValueError, match="parameters"):
        c.load_state_dict(a.state_dict())
    params = make_params([np.ones(3), np.ones(2)])
    params[0].grad = np.ones(3)
    a2 = Adam(params)
    a2.step()
    d = Adam(make_params([np.ones(4), np.ones(2)]))
    with pytest.raises(ValueError, match="shape"):
        d.load_state_dict(a2.state_dict())


def test_load_state_dict_casts_to_param_dtype():
    src = make_params([np.ones(3)])
    src[0].grad = np.full(3, 0.5)
    opt = SGD(src, lr=0.1, momentum=0.9)
    opt.step()
    dst = [StandIn(np.ones(3, dtype=np.float32))]
    opt2 = SGD(dst, lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[dst[0]]["momentum_buffer"].dtype == np.float32


def test_zero_grad():
    params = make_params([np.ones(3), np.ones(2)])
    opt = SGD(params, lr=0.1)
    for p in params:
        p.grad = np.ones_like(p.data)
    grad0 = params[0].grad
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is grad0 and not grad0.any()
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_skips_missing_grads_and_leaves_grad_untouched():
    params = make_params([np.ones(3), np.ones(2)])
    opt = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)
    data0 = params[0].data
    view = data0[:2]
    params[0].grad = np.full(3, 2.0)
    params[0].grad.flags.writeable = False      # the update must never write into grad
    for _ in range(2):
        opt.step()
    assert params[0].data is data0              # updated in place ...
    assert view[0] == data0[0] != 1.0           # ... so views see the new values
    np.testing.assert_array_equal(params[1].data, np.ones(2))
    assert params[1] not in opt.state


@pytest.mark.parametrize("opt_cls,kwargs", ALL_OPTIMIZERS)
def test_grad_is_read_only_safe(opt_cls, kwargs):
    (p,) = make_params([P0])
    opt = opt_cls([p], maximize=True, **kwargs)
    g = G1.copy()
    g.flags.writeable = False
    p.grad = g
    opt.step()
    opt.step()
    np.testing.assert_array_equal(g, G1)


def test_closure_is_called_and_returned():
    (p,) = make_params([P0])
    opt = SGD([p], lr=0.1)

    def closure():
        p.grad = 2 * p.data
        return float(np.sum(p.data ** 2))

    loss = opt.step(closure)
    assert loss == float(np.sum(P0 ** 2))
    np.testing.assert_allclose(p.data, P0 * 0.8)


def test_param_group_handling():
    a, b, c = make_params([np.ones(2), np.ones(3), np.ones(4)])
    opt = SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 0.2})
    assert opt.param_groups[1]["lr"] == 0.2 and opt.param_groups[1]["momentum"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a, c]})
    with pytest.raises(ValueError, match="duplicate"):
        SGD([a, a], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [c], "lr": -1.0})
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="set"):
        SGD({a, b}, lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="dict"):
        opt.add_param_group([c])
    with pytest.raises(TypeError, match=".data and .grad"):
        SGD([np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        SGD([StandIn(np.ones(3, dtype=np.int64))], lr=0.1)


def test_named_parameters_and_identity_keyed_state():
    a, b = make_params([np.ones(2), np.ones(2)])       # equal values, distinct parameters
    opt = SGD([("w", a), ("b", b)], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    a.grad = np.ones(2)
    opt.step()
    assert a in opt.state and b not in opt.state


def test_grad_shape_mismatch():
    (p,) = make_params([np.ones(3)])
    p.grad = np.ones(4)
    with pytest.raises(ValueError, match="shape"):
        SGD([p], lr=0.1).step()


BAD_ARGS = [
    (SGD, dict(lr=-0.1), "lr"),
    (SGD, dict(momentum=-0.5), "momentum"),
    (SGD, dict(dampening=-0.5), "dampening"),
    (SGD, dict(weight_decay=-1.0), "weight_decay"),
    (SGD, dict(nesterov=True), "nesterov"),
    (SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov"),
    (Adam, dict(lr=float("nan")), "lr"),
    (Adam, dict(betas=(1.0, 0.999)), "betas"),
    (Adam, dict(betas=(0.9, -0.1)), "betas"),
    (Adam, dict(betas=(0.9,)), "betas"),
    (Adam, dict(eps=-1e-8), "eps"),
    (AdamW, dict(weight_decay=-0.1), "weight_decay"),
    (RMSprop, dict(alpha=-0.9), "alpha"),
    (RMSprop, dict(momentum=-0.9), "momentum"),
    (RMSprop, dict(eps=-1.0), "eps"),
]


@pytest.mark.parametrize("opt_cls,kwargs,name", BAD_ARGS)
def test_validation(opt_cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        opt_cls(make_params([np.ones(2)]), **kwargs)


def test_base_class_is_exported_and_abstract():
    class Plain(Optimizer):
        pass

    with pytest.raises(NotImplementedError):
        Plain(make_params([np.ones(2)]), {})


def test_unhashable_parameters_work():
    class ElementwiseEq(StandIn):       # like a Tensor whose == is elementwise
        __hash__ = None

        def __eq__(self, other):
            return self.data == other

    params = [ElementwiseEq(np.ones(2)), ElementwiseEq(np.ones(2))]
    opt = Adam(params, lr=0.1)
    for p in params:
        p.grad = np.ones(2)
    opt.step()
    assert len(opt.state) == 2 and opt.state[params[1]]["step"] == 1
    Adam([ElementwiseEq(np.ones(2)), ElementwiseEq(np.ones(2))]).load_state_dict(opt.state_dict())
