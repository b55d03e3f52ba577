"""a03 自动求导与模块 / Autograd and modules: gradients by hand, detach, a manual SGD step,
a training loop, nn.Linear, a two-layer perceptron and the state dict of an nn.Sequential.

Modules cannot cross the sandbox boundary, so each one is graded through a function on plain
tensors and numbers; the references build the real torch objects (autograd, torch.optim.SGD,
nn.Linear, nn.Sequential through torch.func.functional_call) on the judge's side.
"""
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.specs import Assignment, Case, Problem, Tensor
from autograder.specs.cases import normal

_rng = np.random.default_rng(2403)

# What autograd leaves in the call record: Tensor.backward and torch.autograd.backward appear as
# "backward", torch.autograd.grad as "grad"; torch.autograd.functional.* and torch.func.grad/vjp/jacrev
# call torch.autograd.grad, so they show up as "grad" too. (Reading the attribute x.grad is "__get__".)
AUTOGRAD = ("backward", "grad")


_x = partial(normal, _rng)


# ------------------------------------------------------------------ 1. derivative by hand

def _f(x):
    return x ** 2 * torch.sin(3 * x) + torch.exp(-x ** 2 / 2) + torch.log1p(x ** 2)


def _derivative_reference(x):
    z = x.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(_f(z).sum(), z)
    return g


derivative_by_hand = Problem(
    function="derivative_by_hand",
    title_zh="手推导数：乘积法则与链式法则",
    title_en="a derivative by hand: product rule and chain rule",
    points=2.0,
    reference=_derivative_reference,
    forbidden=AUTOGRAD,
    cases=(
        Case("float64 (5,)", (_x(5, scale=1.5),), visible=True),
        Case("float32 (3, 4)", (_x(3, 4, dtype=torch.float32, scale=1.5),), visible=True),
        Case("float64 0-d", (_x(scale=1.5),)),
        Case("float64 (2, 3, 4)", (_x(2, 3, 4, scale=2.0),)),
        Case("float32 (50,)", (_x(50, dtype=torch.float32, scale=1.5),)),
        Case("float64 (4, 5) non-contiguous", (_x(4, 5, scale=1.5, transpose=True),)),
        Case("float64 (0, 3) empty", (_x(0, 3),)),
        Case("float64 special points 0, +-pi/3", (Tensor(np.array([0.0, np.pi / 3, -np.pi / 3, 1e-8]), torch.float64),)),
    ),
)


# ------------------------------------------------------------------ 2. the backward pass of nn.Linear

def _linear_grads_reference(input, weight, bias, grad_output):
    leaves = [t.detach().clone().requires_grad_() for t in (input, weight, bias) if t is not None]
    out = F.linear(*leaves)
    grads = torch.autograd.grad(out, leaves, grad_output)
    return grads[0], grads[1], (grads[2] if bias is not None else None)


def _linear_grads_case(name, batch, d_in, d_out, dtype=torch.float64, bias=True, **kw):
    return Case(name, (_x(*batch, d_in, dtype=dtype), _x(d_out, d_in, dtype=dtype),
                       _x(d_out, dtype=dtype) if bias else None, _x(*batch, d_out, dtype=dtype)), **kw)


linear_grads = Problem(
    function="linear_grads",
    title_zh="手推 nn.Linear 的反向传播",
    title_en="the backward pass of nn.Linear by hand",
    points=3.0,
    reference=_linear_grads_reference,
    forbidden=AUTOGRAD,
    cases=(
        _linear_grads_case("float64 input (4, 3), 2 outputs", (4,), 3, 2, visible=True),
        _linear_grads_case("float32 input (6, 5), 3 outputs", (6,), 5, 3, dtype=torch.float32, visible=True),
        _linear_grads_case("float64 unbatched input (4,)", (), 4, 3),
        _linear_grads_case("float64 input (2, 3, 4): two batch dims", (2, 3), 4, 5),
        _linear_grads_case("float64 input (2, 2, 3, 5): three batch dims", (2, 2, 3), 5, 2),
        _linear_grads_case("float64 input (5, 3), bias=None", (5,), 3, 4, bias=False),
        _linear_grads_case("float32 input (2, 7, 4), bias=None", (2, 7), 4, 3, dtype=torch.float32, bias=False),
        _linear_grads_case("float64 input (5, 4), 1 output", (5,), 4, 1),
        _linear_grads_case("float64 input (0, 3): empty batch", (0,), 3, 2),
    ),
)


# ------------------------------------------------------------------ 3. detach: the straight-through estimator

def _straight_through_reference(x):
    return torch.round(x).detach() + (x - x.detach())  # value exactly round(x), gradient exactly 1


_HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49, -0.51])

straight_through_round = Problem(
    function="straight_through_round",
    title_zh="直通估计：前向取整、反向恒等（detach）",
    title_en="straight-through rounding: round forward, identity backward (detach)",
    points=1.5,
    reference=_straight_through_reference,
    cases=(
        Case("float64 (2, 3), gradient", (_x(2, 3, grad=True, scale=3.0),), visible=True, probe="backward"),
        Case("float32 (5,), no gradient needed", (_x(5, dtype=torch.float32, scale=3.0),), visible=True),
        Case("float64 halves (round half to even), gradient", (Tensor(_HALVES, torch.float64, requires_grad=True),),
             probe="backward"),
        Case("float32 (2, 3, 4), gradient", (_x(2, 3, 4, dtype=torch.float32, grad=True, scale=3.0),), probe="backward"),
        Case("float64 0-d, gradient", (_x(grad=True, scale=3.0),), probe="backward"),
        Case("float64 (4, 6) non-contiguous, gradient", (_x(4, 6, grad=True, scale=3.0, transpose=True),), probe="backward"),
        Case("float32 halves, no gradient needed", (Tensor(_HALVES, torch.float32),)),
    ),
)


# ------------------------------------------------------------------ 4. one SGD step in place

def _sgd_reference(param, grad, lr, weight_decay=0.0, maximize=False):
    param.grad = grad.clone()
    torch.optim.SGD([param], lr=lr, weight_decay=weight_decay, maximize=maximize).step()
    param.grad = None
    return param


def _sgd_case(name, shape, lr, dtype=torch.float64, grad=True, transpose=False, visible=False, **kwargs):
    return Case(name, (_x(*shape, dtype=dtype, grad=grad, transpose=transpose), _x(*shape, dtype=dtype), lr),
                kwargs, visible=visible, probe="inplace")


sgd_step = Problem(
    function="sgd_step",
    title_zh="手写一步 SGD：在 no_grad 里原地更新叶子张量",
    title_en="one SGD step by hand: update a leaf tensor in place under no_grad",
    points=2.0,
    reference=_sgd_reference,
    cases=(
        _sgd_case("float32 (3, 4), lr=0.1", (3, 4), 0.1, dtype=torch.float32, visible=True),
        _sgd_case("float64 (5,), lr=0.05, weight_decay=0.01", (5,), 0.05, weight_decay=0.01, visible=True),
        _sgd_case("float64 (2, 3, 4), lr=0.3", (2, 3, 4), 0.3),
        _sgd_case("float64 (6,), lr=0.1, maximize=True", (6,), 0.1, maximize=True),
        _sgd_case("float64 (3, 3), lr=0.2, weight_decay=0.5, maximize=True", (3, 3), 0.2, weight_decay=0.5, maximize=True),
        _sgd_case("float32 (4,), lr=0.01, weight_decay=0.1", (4,), 0.01, dtype=torch.float32, weight_decay=0.1),
        _sgd_case("float64 0-d, lr=1.0", (), 1.0),
        _sgd_case("float64 (4, 5) non-contiguous, lr=0.1", (4, 5), 0.1, transpose=True),
        _sgd_case("float64 (3,) that does not require grad, lr=0.1", (3,), 0.1, grad=False),
    ),
)


# ------------------------------------------------------------------ 5. a training loop

def _train_reference(X, t, w, b, lr, steps):
    w = w.detach().clone().requires_grad_()
    b = b.detach().clone().requires_grad_()
    for _ in range(steps):
        loss = F.mse_loss(X @ w + b, t)
        gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
    return w.detach(), b.detach()


def _train_case(name, n, d, lr, steps, dtype=torch.float64, visible=False):
    X = _rng.standard_normal((n, d))
    t = X @ _rng.standard_normal(d) + 0.5 + 0.1 * _rng.standard_normal(n)
    return Case(name, (Tensor(X, dtype), Tensor(t, dtype), _x(d, dtype=dtype), _x(dtype=dtype), lr, steps),
                visible=visible)


train_linear_regression = Problem(
    function="train_linear_regression",
    title_zh="训练循环：前向、反向、更新、梯度清零",
    title_en="a training loop: forward, backward, update, zero the gradients",
    points=2.5,
    reference=_train_reference,
    cases=(
        _train_case("float64 N=8, D=3, lr=0.1, 5 steps", 8, 3, 0.1, 5, visible=True),
        _train_case("float64 N=20, D=4, lr=0.1, 40 steps", 20, 4, 0.1, 40),
        _train_case("float32 N=16, D=2, lr=0.05, 25 steps", 16, 2, 0.05, 25, dtype=torch.float32),
        _train_case("float64 N=10, D=1, lr=0.2, 1 step", 10, 1, 0.2, 1),
        _train_case("float64 N=6, D=3, 0 steps: the start values", 6, 3, 0.1, 0),
        _train_case("float64 N=1, D=2, lr=0.1, 10 steps", 1, 2, 0.1, 10),
        _train_case("float64 N=30, D=5, lr=0.01, 100 steps", 30, 5, 0.01, 100),
    ),
)


# ------------------------------------------------------------------ 6. nn.Linear, i.e. F.linear

def _linear_case(name, batch, d_in, d_out, dtype=torch.float64, bias=True, grad=False, visible=False,
                 transpose_input=False, transpose_weight=False):
    args = (_x(*batch, d_in, dtype=dtype, grad=grad, transpose=transpose_input),
            _x(d_out, d_in, dtype=dtype, grad=grad, transpose=transpose_weight))
    kwargs = {"bias": _x(d_out, dtype=dtype, grad=grad)} if bias else {}
    return Case(name, args, kwargs, visible=visible, probe="backward" if grad else None)


linear = Problem(
    function="linear",
    title_zh="线性层：y = x Wᵀ + b（nn.Linear 的计算）",
    title_en="the linear layer: y = x W^T + b (what nn.Linear computes)",
    points=2.0,
    reference=F.linear,
    forbidden=("linear",),
    cases=(
        _linear_case("float32 input (4, 3), 2 outputs, with bias", (4,), 3, 2, dtype=torch.float32, visible=True),
        _linear_case("float64 input (5, 3), 2 outputs, with bias, gradient", (5,), 3, 2, grad=True, visible=True),
        _linear_case("float64 input (5, 4), bias=None, gradient", (5,), 4, 3, bias=False, grad=True),
        _linear_case("float64 unbatched input (3,), gradient", (), 3, 4, grad=True),
        _linear_case("float64 input (2, 4, 3): two batch dims, gradient", (2, 4), 3, 2, grad=True),
        _linear_case("float64 input (2, 2, 3, 5): three batch dims, gradient", (2, 2, 3), 5, 3, grad=True),
        _linear_case("float32 input (16, 32), 8 outputs", (16,), 32, 8, dtype=torch.float32),
        _linear_case("float32 input (3, 6), 4 outputs, gradient", (3,), 6, 4, dtype=torch.float32, grad=True),
        _linear_case("float64 input (0, 3): empty batch", (0,), 3, 2),
        _linear_case("float64 non-contiguous input and weight, gradient", (6,), 4, 5, grad=True,
                     transpose_input=True, transpose_weight=True),
        Case("float64 1-D weight (3,): one output, no output dim", (_x(4, 3, grad=True), _x(3, grad=True)),
             probe="backward"),
    ),
)


# ------------------------------------------------------------------ 7. a two-layer perceptron

def _mlp_reference(x, w1, b1, w2, b2):
    (h, d_in), (d_out, _) = w1.shape, w2.shape
    model = nn.Sequential(nn.Linear(d_in, h, device="meta"), nn.ReLU(), nn.Linear(h, d_out, device="meta"))
    params = {"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2}
    return torch.func.functional_call(model, params, (x,))


def _mlp_case(name, batch, d_in, hidden, d_out, dtype=torch.float64, grad=False, visible=False):
    args = (_x(*batch, d_in, dtype=dtype, grad=grad), _x(hidden, d_in, dtype=dtype, grad=grad),
            _x(hidden, dtype=dtype, grad=grad), _x(d_out, hidden, dtype=dtype, grad=grad),
            _x(d_out, dtype=dtype, grad=grad))
    return Case(name, args, visible=visible, probe="backward" if grad else None)


mlp_forward = Problem(
    function="mlp_forward",
    title_zh="两层感知机：Linear → ReLU → Linear",
    title_en="a two-layer perceptron: Linear -> ReLU -> Linear",
    points=2.0,
    reference=_mlp_reference,
    forbidden=("linear",),
    cases=(
        _mlp_case("float32 input (4, 3), 3-5-2", (4,), 3, 5, 2, dtype=torch.float32, visible=True),
        _mlp_case("float64 input (6, 3), 3-5-2, gradients of all 5 inputs", (6,), 3, 5, 2, grad=True, visible=True),
        _mlp_case("float64 unbatched input (4,), 4-8-3, gradients", (), 4, 8, 3, grad=True),
        _mlp_case("float64 input (2, 5, 3): two batch dims, gradients", (2, 5), 3, 6, 2, grad=True),
        _mlp_case("float64 input (10, 2), 2-16-1, gradients", (10,), 2, 16, 1, grad=True),
        _mlp_case("float32 input (16, 8), 8-32-4", (16,), 8, 32, 4, dtype=torch.float32),
        _mlp_case("float64 input (5, 3), hidden width 1, gradients", (5,), 3, 1, 2, grad=True),
    ),
)


# ------------------------------------------------------------------ 8. the state dict of an nn.Sequential MLP

def _state_dict_reference(in_features, hidden_features, out_features, hidden_layers=1, bias=True):
    sizes = [in_features] + [hidden_features] * hidden_layers + [out_features]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, bias=bias, device="meta"), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    return [(name, tuple(t.shape)) for name, t in model.state_dict().items()]


state_dict_shapes = Problem(
    function="state_dict_shapes",
    title_zh="nn.Sequential 多层感知机的状态字典：名字与形状",
    title_en="the state dict of an nn.Sequential MLP: names and shapes",
    points=1.5,
    reference=_state_dict_reference,
    cases=(
        Case("3-5-2, one hidden layer", (3, 5, 2), visible=True, per_device=False),
        Case("4-8-1, hidden_layers=3", (4, 8, 1), {"hidden_layers": 3}, visible=True, per_device=False),
        Case("10-20-3, bias=False", (10, 20, 3), {"bias": False}, per_device=False),
        Case("2-16-1, hidden_layers=0: a single linear layer", (2, 16, 1), {"hidden_layers": 0}, per_device=False),
        Case("7-7-7, hidden_layers=5", (7, 7, 7), {"hidden_layers": 5}, per_device=False),
        Case("3-4-5, hidden_layers=2, bias=False", (3, 4, 5), {"hidden_layers": 2, "bias": False}, per_device=False),
        Case("1-1-1, hidden_layers=1", (1, 1, 1), {"hidden_layers": 1}, per_device=False),
    ),
)


ASSIGNMENT = Assignment("a03_autograd_modules", (
    derivative_by_hand,
    linear_grads,
    straight_through_round,
    sgd_step,
    train_linear_regression,
    linear,
    mlp_forward,
    state_dict_shapes,
))
