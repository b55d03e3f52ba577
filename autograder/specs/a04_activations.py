"""a04 激活函数 / Activations: every non-linear activation of torch.nn, value and gradient; four
backward passes written by hand (the gradient as a returned value, autograd forbidden)."""
import dataclasses
import warnings
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from autograder.specs import Assignment, Case, Dtype, Problem, Tensor, with_inplace
from autograder.specs.cases import elementwise, normal

_rng = np.random.default_rng(2404)
# torch rounds a constant to float32 in these gradients (1/6 in hardsigmoid, 1/alpha in celu)
_FLOAT32_CONSTANT = {torch.float64: (1e-7, 1e-9)}
# celu's gradient is exp(x * c) with c = 1/alpha rounded to float32: its relative error grows like
# |x / alpha| * 2**-24 (1.6e-7 at exp(x/alpha) = 0.066, found by the answer-key property test)
_CELU_GRADIENT = {torch.float64: (1e-6, 1e-9)}


def _quiet(fn):
    """The reference without the legacy ``dim=None`` warning (it would clutter the notebook)."""
    def reference(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return reference


_x = partial(normal, _rng, scale=3.0)


def _prelu_cases():
    def w(n):
        return Tensor(_rng.uniform(0.05, 0.5, n), torch.float64, requires_grad=True)
    return (
        Case("float32 (3, 4), one weight per channel", (_x(3, 4, dtype=torch.float32),
             Tensor(_rng.uniform(0.05, 0.5, 4), torch.float32)), visible=True),
        Case("float64 (2, 3, 5), 3 channels, gradient", (_x(2, 3, 5, grad=True), w(3)), visible=True, probe="backward"),
        Case("float64 (2, 3, 5), one shared weight, gradient", (_x(2, 3, 5, grad=True), w(1)), probe="backward"),
        Case("float64 (4,), 1-D input, one weight, gradient", (_x(4, grad=True), w(1)), probe="backward"),
        Case("float64 (2, 2, 3, 3), 2 channels, gradient", (_x(2, 2, 3, 3, grad=True), w(2)), probe="backward"),
        Case("float64 0-d, gradient", (_x(grad=True), w(1)), probe="backward"),
        Case("float64 (4, 6) non-contiguous", (_x(4, 6, transpose=True), w(6))),
    )


def _softmax_cases():
    big = np.array([[1000.0, 0.0, -1000.0, 5.0], [-800.0, -801.0, -799.0, -900.0]])
    return (
        Case("float32 (3, 4), dim=1", (_x(3, 4, dtype=torch.float32),), {"dim": 1}, visible=True),
        Case("float64 (2, 3, 5), dim=-1, gradient", (_x(2, 3, 5, grad=True),), {"dim": -1}, visible=True, probe="backward"),
        Case("float64 (2, 3, 5), dim=0, gradient", (_x(2, 3, 5, grad=True),), {"dim": 0}, probe="backward"),
        Case("float64 (4, 3), dim=None (legacy: dim=1)", (_x(4, 3),), {"dim": None}),
        Case("float64 (2, 3, 4), dim=None (legacy: dim=0)", (_x(2, 3, 4),), {"dim": None}),
        Case("float32 (3, 4) with dtype=float64, dim=1", (_x(3, 4, dtype=torch.float32),), {"dim": 1, "dtype": Dtype(torch.float64)}),
        Case("float64 logits up to 1000, dim=1, gradient", (Tensor(big, torch.float64, requires_grad=True),), {"dim": 1}, probe="backward"),
        Case("float32 logits up to 1000, dim=1", (Tensor(big, torch.float32),), {"dim": 1}),
        Case("float64 0-d, dim=0", (_x(),), {"dim": 0}),
        Case("float32 (0, 3) empty, dim=1", (_x(0, 3, dtype=torch.float32),), {"dim": 1}),
        Case("float64 (3, 0): softmax over an empty dim, gradient", (_x(3, 0, grad=True),), {"dim": 1}, probe="backward"),
        Case("float32 (0,) empty 1-D, dim=0", (_x(0, dtype=torch.float32),), {"dim": 0}),
        Case("float64 (4, 6) non-contiguous, dim=0", (_x(4, 6, transpose=True),), {"dim": 0}),
    )


def _vjp(forward):
    """The reference for a backward problem: torch's own vector-Jacobian product of ``forward``."""
    def reference(grad_output, input, *args, **kwargs):
        x = input.detach().requires_grad_()
        with torch.enable_grad():
            y = forward(x, *args, **kwargs)
        (grad,) = torch.autograd.grad(y, x, grad_output)
        return grad
    return reference


def _backward_cases(variants=({},), scale=3.0):
    """(grad_output, input) pairs of the same shape: float32 and float64, each option, 0-d, empty,
    non-contiguous, and |x| up to 800 (the backward must not overflow either)."""
    def pair(*shape, dtype=torch.float64, transpose=False):
        return (normal(_rng, *shape, dtype=dtype, transpose=transpose),
                normal(_rng, *shape, dtype=dtype, scale=scale, transpose=transpose))
    cases = []
    for i, kw in enumerate(variants):
        label = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        cases += [Case(f"float32 (3, 4){', ' + label if label else ''}", pair(3, 4, dtype=torch.float32), dict(kw), visible=i == 0),
                  Case(f"float64 (2, 3, 5){', ' + label if label else ''}", pair(2, 3, 5), dict(kw), visible=i == 0)]
    big = np.array([-800.0, -90.0, -30.0, -1e-3, 0.0, 2e-3, 30.0, 90.0, 800.0])
    g = np.cos(np.arange(big.size)) + 1.5
    for kw in variants:
        label = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        cases += [Case(f"float64 |x| up to 800{', ' + label if label else ''}", (Tensor(g, torch.float64), Tensor(big, torch.float64)), dict(kw)),
                  Case(f"float32 |x| up to 800{', ' + label if label else ''}", (Tensor(g, torch.float32), Tensor(big, torch.float32)), dict(kw))]
    kw = dict(variants[0])
    cases += [Case("float64 0-d", pair(), kw), Case("float32 (0, 3) empty", pair(0, 3, dtype=torch.float32), kw),
              Case("float64 (4, 6) non-contiguous", pair(4, 6, transpose=True), kw)]
    return tuple(cases)


# a hand-written backward must not ask autograd for the answer (these are the calls it would need)
AUTOGRAD = ("grad", "backward", "requires_grad_", "vjp", "jacrev", "jacfwd")


def _glu_cases():
    return (
        Case("float32 (3, 4), dim=-1", (_x(3, 4, dtype=torch.float32),), visible=True),
        Case("float64 (2, 6), dim=1, gradient", (_x(2, 6, grad=True),), {"dim": 1}, visible=True, probe="backward"),
        Case("float64 (4, 3, 2), dim=0, gradient", (_x(4, 3, 2, grad=True),), {"dim": 0}, probe="backward"),
        Case("float64 (2, 3, 8), default dim, gradient", (_x(2, 3, 8, grad=True, scale=30.0),), probe="backward"),
        Case("float64 (6, 4) non-contiguous, dim=0", (_x(6, 4, transpose=True),), {"dim": 0}),
        Case("float32 (0, 4) empty, dim=-1", (_x(0, 4, dtype=torch.float32),)),
    )


def _problem(function, title_zh, title_en, points=1.0, forbidden=(), tolerances=None, cases=None, reference=None, **kw):
    return Problem(function=function, title_zh=title_zh, title_en=title_en, points=points,
                   reference=reference or getattr(F, function),
                   cases=cases if cases is not None else elementwise(_rng, **kw),
                   forbidden=with_inplace(function, *forbidden), tolerances=tolerances)


_SOFTMAX_KERNELS = ("softmax", "_softmax", "log_softmax", "_log_softmax", "softmin")

PROBLEMS = (
    _problem("relu", "ReLU", "ReLU", inplace=True),
    _problem("relu6", "ReLU6", "ReLU6", forbidden=("hardtanh",), inplace=True, scale=4.0),
    _problem("leaky_relu", "LeakyReLU", "LeakyReLU", variants=({}, {"negative_slope": 0.2}), inplace=True),
    _problem("prelu", "PReLU（斜率可学习）", "PReLU (learnable slope)", 1.5, forbidden=("_prelu_kernel",), cases=_prelu_cases()),
    _problem("rrelu", "RReLU", "RReLU", 1.5, forbidden=("rrelu_with_noise", "leaky_relu"), cases=(
        *elementwise(_rng, ({}, {"lower": 0.05, "upper": 0.5}), inplace=True),
        Case("training=True: positive inputs pass unchanged", (Tensor(np.abs(_rng.standard_normal(6)) + 0.1, torch.float64),),
             {"training": True}),
    )),
    _problem("threshold", "Threshold", "Threshold", extra_args=(0.3, -2.0), inplace=True),
    _problem("hardtanh", "Hardtanh", "Hardtanh", variants=({}, {"min_val": -2.0, "max_val": 0.5}), inplace=True),
    _problem("hardsigmoid", "Hardsigmoid", "Hardsigmoid", inplace=True, tolerances=_FLOAT32_CONSTANT),
    _problem("hardswish", "Hardswish", "Hardswish", inplace=True, tolerances=_FLOAT32_CONSTANT),
    _problem("hardshrink", "Hardshrink", "Hardshrink", variants=({}, {"lambd": 1.5})),
    _problem("softshrink", "Softshrink", "Softshrink", variants=({}, {"lambd": 1.5})),
    _problem("sigmoid", "Sigmoid（数值稳定）", "Sigmoid (numerically stable)", 1.5, forbidden=("special_expit", "expit")),
    _problem("tanh", "Tanh（数值稳定）", "Tanh (numerically stable)"),
    _problem("logsigmoid_backward", "LogSigmoid 的反向传播（手写）", "LogSigmoid backward, by hand", 1.5,
             forbidden=(*AUTOGRAD, "log_sigmoid_backward", "log_sigmoid_forward", "log_sigmoid"),
             cases=_backward_cases(), reference=_vjp(F.logsigmoid)),
    _problem("softplus", "Softplus", "Softplus", variants=({}, {"beta": 2.0, "threshold": 5.0})),
    _problem("softsign_backward", "Softsign 的反向传播（手写）", "Softsign backward, by hand",
             forbidden=AUTOGRAD, cases=_backward_cases(), reference=_vjp(F.softsign)),
    _problem("tanhshrink", "Tanhshrink", "Tanhshrink"),
    _problem("elu", "ELU", "ELU", variants=({}, {"alpha": 0.7}), inplace=True),
    _problem("selu", "SELU", "SELU", forbidden=("elu",), inplace=True),
    _problem("celu", "CELU", "CELU", forbidden=("elu",), variants=({}, {"alpha": 1.7}), inplace=True,
             tolerances=_CELU_GRADIENT),
    _problem("gelu", "GELU", "GELU", 1.5, variants=({}, {"approximate": "tanh"})),
    _problem("silu", "SiLU", "SiLU", inplace=True),
    _problem("mish", "Mish", "Mish", inplace=True),
    _problem("softmax", "Softmax（数值稳定）", "Softmax (numerically stable)", 2, forbidden=_SOFTMAX_KERNELS,
             cases=_softmax_cases(), reference=_quiet(F.softmax)),
    _problem("softmin", "Softmin", "Softmin", forbidden=_SOFTMAX_KERNELS, cases=_softmax_cases(), reference=_quiet(F.softmin)),
    _problem("log_softmax", "LogSoftmax（log-sum-exp 技巧）", "LogSoftmax (the log-sum-exp trick)", 2,
             forbidden=(*_SOFTMAX_KERNELS, "logsumexp"), cases=_softmax_cases(), reference=_quiet(F.log_softmax)),
    _problem("glu", "GLU（门控线性单元）", "GLU (gated linear unit)", 1.5, cases=_glu_cases()),
    _problem("softplus_backward", "Softplus 的反向传播（手写）", "Softplus backward, by hand", 1.5,
             forbidden=(*AUTOGRAD, "softplus"), cases=_backward_cases(({}, {"beta": 2.0, "threshold": 5.0}, {"beta": 0.5})),
             reference=_vjp(F.softplus)),
    _problem("gelu_backward", "GELU 的反向传播（手写，两种形式）", "GELU backward, by hand (both forms)", 2,
             forbidden=(*AUTOGRAD, "gelu"), cases=_backward_cases(({}, {"approximate": "tanh"})), reference=_vjp(F.gelu)),
)


# ------------------------------------------------------------------ zero-size inputs
# torch returns a result on an empty batch (an empty tensor, 0 for 'sum', nan for 'mean'), and so must the answer.

def _empty(*shape, grad=False, pos=False, ints=False):
    if ints:
        return Tensor(np.zeros(shape, dtype=np.int64), torch.int64)
    return Tensor(np.ones(shape) if pos else np.zeros(shape), torch.float64, requires_grad=grad)


_ZERO_SIZE = {
    "prelu": (
        Case("float64 (0, 3) empty batch, gradient", (_empty(0, 3, grad=True), Tensor(np.full(3, 0.2), torch.float64, requires_grad=True)), probe="backward"),
    ),
}
PROBLEMS = tuple(dataclasses.replace(p, cases=p.cases + _ZERO_SIZE.get(p.function, ())) for p in PROBLEMS)

ASSIGNMENT = Assignment("a04_activations", PROBLEMS)
