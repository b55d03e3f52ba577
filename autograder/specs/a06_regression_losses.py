"""a06 回归损失 / Regression losses: L1, MSE, Huber, SmoothL1, Poisson NLL, Gaussian NLL; values and gradients.

Every reduction, every option, shapes (), (5,), (3, 4), (2, 3, 4), float32 and float64, gradients with respect to
the input (and to ``var`` for the Gaussian loss). ``input`` and ``target`` always share a shape: with different shapes
torch broadcasts and warns.
"""
import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from autograder.specs import LOSS_KERNELS, Assignment, Case, Problem, Tensor

_rng = np.random.default_rng(2406)
_SHAPES = ((), (5,), (3, 4), (2, 3, 4))
_REDUCTIONS = ("none", "mean", "sum")


def _s(shape) -> str:
    return "0-d" if shape == () else str(tuple(shape))


def _t(data, dtype=torch.float64, grad=False, **kw):
    return Tensor(np.asarray(data, dtype=np.float64), dtype, requires_grad=grad, **kw)


def _normal(shape, scale=2.0):
    return _rng.standard_normal(shape) * scale


def _l1_reference(input, target, reduction="mean", weight=None):
    """F.l1_loss; with a weight, torch's own weighted branch written out: under a torch function mode (the grader's
    recorder) F.l1_loss forwards only input and target and silently drops ``weight`` (a torch 2.13 quirk)."""
    if weight is None:
        return F.l1_loss(input, target, reduction=reduction)
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    loss = torch.abs(input - target) * weight
    if reduction == "none":
        return loss
    return torch.sum(loss) if reduction == "sum" else torch.sum(loss) / torch.sum(weight)


def _pointwise_cases(options=({},), weight=False, edge=None):
    """Cases for l1/mse/huber/smooth_l1: every shape x reduction (float32 values, float64 gradients), each option
    value with every reduction (gradients), empty and non-contiguous inputs, exact edge errors, weights."""
    cases = [
        Case("float32 (3, 4), reduction='mean'", (_t(_normal((3, 4)), torch.float32), _t(_normal((3, 4)), torch.float32)),
             visible=True),
        Case("float64 (2, 3, 4), reduction='none', gradient", (_t(_normal((2, 3, 4)), grad=True), _t(_normal((2, 3, 4)))),
             {"reduction": "none"}, visible=True, probe="backward"),
    ]
    for shape in _SHAPES:
        for r in _REDUCTIONS:
            cases.append(Case(f"float32 {_s(shape)}, reduction={r!r}",
                              (_t(_normal(shape), torch.float32), _t(_normal(shape), torch.float32)), {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, reduction={r!r}, gradient",
                              (_t(_normal(shape), grad=True), _t(_normal(shape))), {"reduction": r}, probe="backward"))
    for kw in options:
        label = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (3, 4), {label}, reduction={r!r}, gradient",
                              (_t(_normal((3, 4)), grad=True), _t(_normal((3, 4)))), {**kw, "reduction": r},
                              probe="backward"))
        cases.append(Case(f"float32 (2, 3, 4), {label}", (_t(_normal((2, 3, 4)), torch.float32),
                                                          _t(_normal((2, 3, 4)), torch.float32)), dict(kw)))
    cases += [
        Case("float32 (0, 3) empty, reduction='mean' (nan)", (_t(np.zeros((0, 3)), torch.float32),
                                                            _t(np.zeros((0, 3)), torch.float32))),
        Case("float64 (0, 3) empty, reduction='sum'", (_t(np.zeros((0, 3))), _t(np.zeros((0, 3)))), {"reduction": "sum"}),
        Case("float64 (4, 6) non-contiguous, reduction='none'", (_t(_normal((4, 6)), transpose=True),
                                                               _t(_normal((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    for kw, (x, y) in (edge or {}).items():
        kwd = dict(kw)
        label = ", ".join(f"{k}={v!r}" for k, v in kwd.items())
        for r in ("none", "sum"):
            cases.append(Case(f"float64 exact edge errors {list(np.subtract(x, y))}{', ' + label if label else ''}, "
                              f"reduction={r!r}, gradient", (_t(x, grad=True), _t(y)), {**kwd, "reduction": r},
                              probe="backward"))
    if weight:
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (3, 4) with weight, reduction={r!r}, gradient",
                              (_t(_normal((3, 4)), grad=True), _t(_normal((3, 4))), ), {"reduction": r,
                              "weight": _t(_rng.uniform(0.1, 2.0, (3, 4)))}, probe="backward"))
        cases.append(Case("float32 (2, 3, 4) with weight, reduction='mean'",
                          (_t(_normal((2, 3, 4)), torch.float32), _t(_normal((2, 3, 4)), torch.float32)),
                          {"weight": _t(_rng.uniform(0.1, 2.0, (2, 3, 4)), torch.float32)}))
    return tuple(cases)


# errors exactly 0 and exactly at the switch points (all values exact in binary)
_EDGE_X = [0.5, 1.5, -0.5, 2.0, 0.25, -1.75]
_EDGE_Y = [0.5, 0.5, 0.5, 0.0, 0.75, 0.25]  # d = 0, 1, -1, 2, -0.5, -2


def _counts(shape):
    """Poisson counts with 0, 1 and values > 1 (the Stirling term applies only where y > 1)."""
    y = _rng.poisson(2.5, shape).astype(np.float64)
    flat = y.reshape(-1)
    flat[:3] = [0.0, 1.0, 2.0][:flat.size]
    return y if shape else np.float64(3.0)


def _poisson_cases():
    def log_rate(shape):
        return _normal(shape, 0.8)

    def rate(shape):
        return _rng.uniform(0.05, 4.0, shape)

    cases = [
        Case("float32 (3, 4), log_input=True", (_t(log_rate((3, 4)), torch.float32), _t(_counts((3, 4)), torch.float32)),
             visible=True),
        Case("float64 (2, 3, 4), log_input=False, full=True, reduction='sum', gradient",
             (_t(rate((2, 3, 4)), grad=True), _t(_counts((2, 3, 4)))),
             {"log_input": False, "full": True, "reduction": "sum"}, visible=True, probe="backward"),
    ]
    for log_input in (True, False):
        make = log_rate if log_input else rate
        for full in (False, True):
            for r in _REDUCTIONS:
                kw = {"log_input": log_input, "full": full, "reduction": r}
                cases.append(Case(f"float64 (3, 4), log_input={log_input}, full={full}, reduction={r!r}, gradient",
                                  (_t(make((3, 4)), grad=True), _t(_counts((3, 4)))), kw, probe="backward"))
            for shape in _SHAPES:
                cases.append(Case(f"float32 {_s(shape)}, log_input={log_input}, full={full}, reduction='none'",
                                  (_t(make(shape), torch.float32), _t(_counts(shape), torch.float32)),
                                  {"log_input": log_input, "full": full, "reduction": "none"}))
    zero = np.array([0.0, 0.0, 1.5, 0.2, 3.0])
    ys = np.array([0.0, 3.0, 1.0, 2.0, 7.0])
    for eps in (1e-8, 0.1):
        cases.append(Case(f"float64 (5,), rate 0 included, log_input=False, eps={eps}, full=True, reduction='none', "
                          "gradient", (_t(zero, grad=True), _t(ys)),
                          {"log_input": False, "eps": eps, "full": True, "reduction": "none"}, probe="backward"))
    cases += [
        Case("float64 (3, 4), log_input=False, eps=0.5, reduction='mean', gradient",
             (_t(rate((3, 4)), grad=True), _t(_counts((3, 4)))), {"log_input": False, "eps": 0.5}, probe="backward"),
        Case("float64 (3, 4), log_input=True, eps=0.5 (ignored), gradient",
             (_t(log_rate((3, 4)), grad=True), _t(_counts((3, 4)))), {"eps": 0.5}, probe="backward"),
        Case("float64 0-d, full=True, gradient", (_t(0.4, grad=True), _t(4.0)), {"full": True}, probe="backward"),
        Case("float64 (4, 6) non-contiguous, full=True, reduction='none'",
             (_t(log_rate((4, 6)), transpose=True), _t(_counts((4, 6)), transpose=True)),
             {"full": True, "reduction": "none"}),
        Case("float64 large counts up to 1000, full=True, reduction='none'",
             (_t([0.0, 3.0, 6.9, 2.0]), _t([0.0, 20.0, 1000.0, 5.0])), {"full": True, "reduction": "none"}),
        Case("float32 (0, 3) empty, reduction='sum'", (_t(np.zeros((0, 3)), torch.float32),
                                                       _t(np.zeros((0, 3)), torch.float32)), {"reduction": "sum"}),
    ]
    return tuple(cases)


def _var(shape):
    return _rng.uniform(0.1, 2.0, shape)


def _gaussian_cases():
    def x(shape, dtype=torch.float64, grad=False):
        return _t(_normal(shape, 1.5), dtype, grad)

    cases = [
        Case("float32 (3, 4), var of the same shape", (x((3, 4), torch.float32), x((3, 4), torch.float32),
                                                       _t(_var((3, 4)), torch.float32)), visible=True),
        Case("float64 (3, 4), var (3,) (one fewer dim), reduction='none', gradient w.r.t. input and var",
             (x((3, 4), grad=True), x((3, 4)), _t(_var(3), grad=True)), {"reduction": "none"}, visible=True,
             probe="backward"),
    ]
    for shape in _SHAPES:
        for r in _REDUCTIONS:
            cases.append(Case(f"float32 {_s(shape)}, var same shape, reduction={r!r}",
                              (x(shape, torch.float32), x(shape, torch.float32), _t(_var(shape), torch.float32)),
                              {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, var same shape, reduction={r!r}, gradient",
                              (x(shape, grad=True), x(shape), _t(_var(shape), grad=True)), {"reduction": r},
                              probe="backward"))
    for full in (False, True):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (3, 4), full={full}, reduction={r!r}, gradient",
                              (x((3, 4), grad=True), x((3, 4)), _t(_var((3, 4)), grad=True)),
                              {"full": full, "reduction": r}, probe="backward"))
    var_shapes = [((3, 4), (3,), "one fewer dim"), ((3, 4), (3, 1), "last dim 1"), ((3, 4), (1, 4), "first dim 1"),
                  ((2, 3, 4), (2, 3), "one fewer dim"), ((2, 3, 4), (2, 1, 4), "middle dim 1"),
                  ((5,), (), "0-d var for (5,) input (one fewer dim)"), ((5,), (1,), "(1,)")]
    for in_shape, v_shape, what in var_shapes:
        for r in ("none", "mean"):
            cases.append(Case(f"float64 {_s(in_shape)}, var {_s(v_shape)} ({what}), reduction={r!r}, gradient",
                              (x(in_shape, grad=True), x(in_shape), _t(_var(v_shape), grad=True)),
                              {"reduction": r}, probe="backward"))
    cases += [
        Case("float64 (3, 4), var a Python float 0.7, gradient", (x((3, 4), grad=True), x((3, 4)), 0.7),
             probe="backward"),
        Case("float32 (2, 3, 4), var a Python float 2.5, full=True, reduction='none'",
             (x((2, 3, 4), torch.float32), x((2, 3, 4), torch.float32), 2.5), {"full": True, "reduction": "none"}),
        Case("float32 (2, 3, 4), var (2, 3), full=True", (x((2, 3, 4), torch.float32), x((2, 3, 4), torch.float32),
                                                          _t(_var((2, 3)), torch.float32)), {"full": True}),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(_normal((4, 6)), transpose=True), _t(_normal((4, 6)), transpose=True),
              _t(_var((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    tiny_x, tiny_y = np.array([0.1, 0.2, -0.3, 0.0, 1.0]), np.zeros(5)
    tiny_v = np.array([1e-9, 0.5, 0.0, 1e-7, 2e-3])
    for eps in (1e-6, 1e-3):
        for r in ("none", "sum"):
            cases.append(Case(f"float64 (5,), var below eps (clamped, gradient still flows), eps={eps}, "
                              f"reduction={r!r}, gradient", (_t(tiny_x, grad=True), _t(tiny_y), _t(tiny_v, grad=True)),
                              {"eps": eps, "reduction": r}, probe="backward"))
    cases.append(Case("float32 (5,), var below eps, eps=1e-3, full=True, reduction='none'",
                      (_t(tiny_x, torch.float32), _t(tiny_y, torch.float32), _t(tiny_v, torch.float32)),
                      {"eps": 1e-3, "full": True, "reduction": "none"}))
    return tuple(cases)


def _gaussian_backward_reference(grad_output, input, target, var, full=False, eps=1e-06, reduction="mean"):
    """torch's gradients of gaussian_nll_loss w.r.t. (input, var), times grad_output."""
    x, v = input.detach().requires_grad_(), var.detach().requires_grad_()
    with torch.enable_grad():
        loss = F.gaussian_nll_loss(x, target, v, full=full, eps=eps, reduction=reduction)
    return torch.autograd.grad(loss, (x, v), grad_output)


# a hand-written backward must not ask autograd for the answer
AUTOGRAD = ("grad", "backward", "requires_grad_", "vjp", "jacrev", "jacfwd")


def _gaussian_backward_cases():
    """(grad_output, input, target, var): grad_output has the loss's shape (input's for 'none', else 0-d)."""
    def x(shape, dtype=torch.float64):
        return _t(_normal(shape, 1.5), dtype)

    def up(shape, r, dtype=torch.float64):
        return _t(_normal(shape if r == "none" else (), 1.0) + 0.5, dtype)

    cases = [
        Case("float32 (3, 4), var of the same shape, reduction='mean'",
             (up((3, 4), "mean", torch.float32), x((3, 4), torch.float32), x((3, 4), torch.float32),
              _t(_var((3, 4)), torch.float32)), visible=True),
        Case("float64 (3, 4), var (3,) (one fewer dim), reduction='none'",
             (up((3, 4), "none"), x((3, 4)), x((3, 4)), _t(_var(3))), {"reduction": "none"}, visible=True),
    ]
    var_shapes = [((3, 4), (3, 4), "same shape"), ((3, 4), (3,), "one fewer dim"), ((3, 4), (3, 1), "last dim 1"),
                  ((3, 4), (1, 4), "first dim 1"), ((2, 3, 4), (2, 3), "one fewer dim"),
                  ((2, 3, 4), (2, 1, 4), "middle dim 1"), ((5,), (), "0-d var for (5,) input"), ((5,), (1,), "(1,)"),
                  ((), (), "0-d")]
    for in_shape, v_shape, what in var_shapes:
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 {_s(in_shape)}, var {_s(v_shape)} ({what}), reduction={r!r}",
                              (up(in_shape, r), x(in_shape), x(in_shape), _t(_var(v_shape))), {"reduction": r}))
    tiny_x, tiny_y = np.array([0.1, 0.2, -0.3, 0.0, 1.0]), np.zeros(5)
    tiny_v = np.array([1e-9, 0.5, 0.0, 1e-7, 2e-3])
    for eps in (1e-6, 1e-3):
        for r in ("none", "sum"):
            cases.append(Case(f"float64 (5,), var below eps (clamped, gradient still flows), eps={eps}, reduction={r!r}",
                              (up((5,), r), _t(tiny_x), _t(tiny_y), _t(tiny_v)), {"eps": eps, "reduction": r}))
    cases += [
        Case("float64 (3, 4), full=True, reduction='sum'", (up((3, 4), "sum"), x((3, 4)), x((3, 4)), _t(_var((3, 4)))),
             {"full": True, "reduction": "sum"}),
        Case("float32 (2, 3, 4), var (2, 3), reduction='none'",
             (up((2, 3, 4), "none", torch.float32), x((2, 3, 4), torch.float32), x((2, 3, 4), torch.float32),
              _t(_var((2, 3)), torch.float32)), {"reduction": "none"}),
        Case("float64 (0, 3) empty, reduction='sum'", (up((0, 3), "sum"), x((0, 3)), x((0, 3)), _t(_var((0, 3)))),
             {"reduction": "sum"}),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (up((4, 6), "none"), _t(_normal((4, 6)), transpose=True), _t(_normal((4, 6)), transpose=True),
              _t(_var((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return tuple(cases)


def _problem(function, title_zh, title_en, points, cases, reference=None, forbidden=()):
    return Problem(function=function, title_zh=title_zh, title_en=title_en, points=points,
                   reference=reference or getattr(F, function), cases=cases,
                   forbidden=tuple(sorted({*LOSS_KERNELS, *forbidden})))


PROBLEMS = (
    _problem("l1_loss", "L1 损失", "L1 loss", 2, _pointwise_cases(weight=True, edge={(): (_EDGE_X, _EDGE_Y)}),
             reference=_l1_reference),
    _problem("mse_loss", "均方误差", "Mean squared error", 2, _pointwise_cases(weight=True)),
    _problem("huber_loss", "Huber 损失", "Huber loss", 3,
             _pointwise_cases(({"delta": 0.5}, {"delta": 2.0}), weight=True,
                              edge={(): (_EDGE_X, _EDGE_Y), (("delta", 2.0),): (_EDGE_X, _EDGE_Y)})),
    _problem("smooth_l1_loss", "平滑 L1 损失", "Smooth L1 loss", 3,
             _pointwise_cases(({"beta": 0.5}, {"beta": 2.0}, {"beta": 0.0}),
                              edge={(): (_EDGE_X, _EDGE_Y), (("beta", 0.5),): (_EDGE_X, _EDGE_Y),
                                    (("beta", 0.0),): (_EDGE_X, _EDGE_Y)})),
    _problem("poisson_nll_loss", "泊松负对数似然", "Poisson negative log-likelihood", 3, _poisson_cases()),
    _problem("gaussian_nll_loss", "高斯负对数似然", "Gaussian negative log-likelihood", 4, _gaussian_cases()),
    _problem("gaussian_nll_loss_backward", "高斯负对数似然的反向传播（手写）", "Gaussian NLL backward, by hand", 3,
             _gaussian_backward_cases(), reference=_gaussian_backward_reference, forbidden=AUTOGRAD),
)


# ------------------------------------------------------------------ zero-size inputs
# torch returns a result on an empty batch (an empty tensor, 0 for 'sum', nan for 'mean'), and so must the answer.

def _empty(*shape, grad=False, pos=False, ints=False):
    if ints:
        return Tensor(np.zeros(shape, dtype=np.int64), torch.int64)
    return Tensor(np.ones(shape) if pos else np.zeros(shape), torch.float64, requires_grad=grad)


_ZERO_SIZE = {
    "gaussian_nll_loss": (
        Case("float64 (0, 3) empty, reduction='sum', gradient", (_empty(0, 3, grad=True), _empty(0, 3), _empty(0, 3, pos=True, grad=True)), {"reduction": "sum"}, probe="backward"),
        Case("float64 (0, 3) empty, reduction='mean' (nan)", (_empty(0, 3), _empty(0, 3), _empty(0, 3, pos=True))),
    ),
}
PROBLEMS = tuple(dataclasses.replace(p, cases=p.cases + _ZERO_SIZE.get(p.function, ())) for p in PROBLEMS)

ASSIGNMENT = Assignment("a06_regression_losses", PROBLEMS)
