"""a05 规范化、dropout 与距离 / Normalization, dropout and distances.

Goes with lessons 04 (modules) and 06 (layers). Each function mirrors its ``torch.nn.functional``
namesake: value, and gradient with respect to every input made with ``requires_grad=True``;
batch norm's running statistics are read back after training-mode calls (``watch``), and dropout
with 0 < p < 1 is judged by its properties (``validate``).

Not graded:
- ``cosine_similarity`` of float32 with float64: torch divides the float32 input by its float32 norm
  before promoting, so the float64 result carries float32 rounding that a float64 tolerance cannot absorb.
"""
import dataclasses
import math
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from autograder.results import Msg
from autograder.specs import Assignment, Case, Problem, Tensor, with_inplace
from autograder.specs.cases import normal

_rng = np.random.default_rng(2405)
D, S = torch.float64, torch.float32


_x = partial(normal, _rng)


def _pos(*shape, dtype=D):
    return Tensor(_rng.uniform(0.5, 2.0, shape), dtype)


# Every torch normalization kernel: none may be borrowed for batch_norm or layer_norm.
NORM_KERNELS = with_inplace(
    "batch_norm", "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional", "_batch_norm_impl_index", "_batch_norm_with_update",
    "_batch_norm_no_update", "cudnn_batch_norm", "miopen_batch_norm", "batch_norm_stats", "batch_norm_elemt",
    "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts", "instance_norm",
    "layer_norm", "native_layer_norm", "group_norm", "native_group_norm", "rms_norm", "_fused_rms_norm")

DROPOUT_KERNELS = with_inplace("dropout", "native_dropout", "_fused_dropout", "feature_dropout", "alpha_dropout",
                          "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d")


def _linear_cases():
    return (
        Case("float32 (3, 5) x weight (4, 5) + bias", (_x(3, 5, dtype=S), _x(4, 5, dtype=S), _x(4, dtype=S)), visible=True),
        Case("float64 (2, 3, 5), gradient w.r.t. input, weight, bias",
             (_x(2, 3, 5, grad=True), _x(4, 5, grad=True), _x(4, grad=True)), visible=True, probe="backward"),
        Case("float64 1-D input (5,), gradient", (_x(5, grad=True), _x(4, 5, grad=True), _x(4, grad=True)), probe="backward"),
        Case("float64 (2, 2, 3, 5), no bias, gradient", (_x(2, 2, 3, 5, grad=True), _x(4, 5, grad=True)), probe="backward"),
        Case("float64 square weight (5, 5): W^T, not W, gradient",
             (_x(3, 5, grad=True), _x(5, 5, grad=True), _x(5, grad=True)), probe="backward"),
        Case("float64 1-D weight (5,), no bias, gradient", (_x(3, 5, grad=True), _x(5, grad=True)), probe="backward"),
        Case("float64 bias=None given by keyword", (_x(3, 5), _x(2, 5)), {"bias": None}),
        Case("float32 (4, 3, 5) with bias", (_x(4, 3, 5, dtype=S), _x(6, 5, dtype=S), _x(6, dtype=S))),
        Case("float32 (0, 5) empty batch", (_x(0, 5, dtype=S), _x(4, 5, dtype=S), _x(4, dtype=S))),
        Case("float64 (3, 5) non-contiguous input", (_x(3, 5, transpose=True), _x(4, 5), _x(4))),
    )


def _bn(shape, dtype=D, grad=False, affine=True, running=True, scale=2.0, shift=1.0, **kw):
    c = shape[1]
    x = _x(*shape, dtype=dtype, grad=grad, scale=scale, shift=shift, **kw)
    stats = (_x(c, dtype=dtype), _pos(c, dtype=dtype)) if running else (None, None)
    params = (_x(c, dtype=dtype, grad=grad), _x(c, dtype=dtype, grad=grad)) if affine else ()
    return (x, *stats, *params)


def _batch_norm_cases():
    train, ev = {"training": True}, {"training": False}
    return (
        Case("float32 (4, 3), training", _bn((4, 3), S), train, visible=True, watch=(1, 2)),
        Case("float64 (4, 3, 5), training: running stats updated in place", _bn((4, 3, 5)), train, watch=(1, 2)),
        Case("float64 (2, 3, 4, 5), training, momentum=0.3: running stats", _bn((2, 3, 4, 5)),
             {"training": True, "momentum": 0.3}, watch=(1, 2)),
        Case("float64 (4, 3), evaluation: running stats unchanged", _bn((4, 3)), ev, watch=(1, 2)),
        Case("float64 (4, 3, 5), evaluation, gradient", _bn((4, 3, 5), grad=True), ev, visible=True, probe="backward"),
        Case("float64 (6, 3), training, gradient", _bn((6, 3), grad=True), train, probe="backward"),
        Case("float64 (4, 3, 5), training, gradient", _bn((4, 3, 5), grad=True), train, probe="backward"),
        Case("float64 (2, 3, 4, 5), training, gradient", _bn((2, 3, 4, 5), grad=True), train, probe="backward"),
        Case("float64 (2, 2, 3, 4, 3), training, gradient", _bn((2, 2, 3, 4, 3), grad=True), train, probe="backward"),
        Case("float64 (2, 3, 4, 5), evaluation, gradient", _bn((2, 3, 4, 5), grad=True), ev, probe="backward"),
        Case("float64 (2, 2, 3, 4, 3), evaluation", _bn((2, 2, 3, 4, 3)), ev),
        Case("float64 (4, 3, 5), training, momentum=0.3, eps=1e-3, gradient", _bn((4, 3, 5), grad=True),
             {"training": True, "momentum": 0.3, "eps": 1e-3}, probe="backward"),
        Case("float64 (3, 4), evaluation, eps=0.5", _bn((3, 4)), {"training": False, "eps": 0.5}),
        Case("float64 (5, 3, 2), training, no running stats, gradient", _bn((5, 3, 2), grad=True, running=False),
             train, probe="backward"),
        Case("float64 (5, 3, 2), training, weight=None, bias=None, gradient", _bn((5, 3, 2), grad=True, affine=False),
             train, probe="backward"),
        Case("float64 (4, 3), default training=False, no affine", _bn((4, 3), affine=False)),
        Case("float64 (1, 3, 4), evaluation, batch of one", _bn((1, 3, 4)), ev),
        Case("float32 (2, 3, 4, 5), training", _bn((2, 3, 4, 5), S), train),
        Case("float32 (2, 3, 4, 5), evaluation", _bn((2, 3, 4, 5), S), ev),
        Case("float64 (4, 3) non-contiguous input, training", _bn((4, 3), transpose=True), train),
        Case("float64 (0, 3) empty batch, training: running stats unchanged", _bn((0, 3)), train, watch=(1, 2)),
        Case("float32 (0, 3, 4) empty batch, evaluation", _bn((0, 3, 4), S), ev),
        Case("float64 (2, 0, 4) no channels, training, no affine", _bn((2, 0, 4), affine=False), train),
        Case("float64 (0,) empty, no channel dim, training", (_x(0), _x(0), _pos(0)), train, watch=(1, 2)),
    )


def _layer_norm_reference(input, normalized_shape, *args, **kwargs):
    # F.layer_norm wants a tuple; the cases can only send an int for now
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return F.layer_norm(input, normalized_shape, *args, **kwargs)


def _layer_norm_cases():
    const = Tensor(np.array([[2.0, 2.0, 2.0, 2.0], [-1.0, 0.0, 1.0, 5.0], [3e-3, 3e-3, 3e-3, 3e-3]]), D, requires_grad=True)
    return (
        Case("float32 (4, 5), normalized_shape=5, weight and bias", (_x(4, 5, dtype=S, scale=2, shift=3), 5,
             _x(5, dtype=S), _x(5, dtype=S)), visible=True),
        Case("float64 (2, 3, 4), normalized_shape=4, gradient", (_x(2, 3, 4, grad=True, scale=2, shift=1), 4,
             _x(4, grad=True), _x(4, grad=True)), visible=True, probe="backward"),
        Case("float64 1-D (6,), gradient", (_x(6, grad=True, scale=3), 6, _x(6, grad=True), _x(6, grad=True)), probe="backward"),
        Case("float64 (2, 3, 4, 5), no weight or bias, gradient", (_x(2, 3, 4, 5, grad=True, scale=2), 5), probe="backward"),
        Case("float64 (3, 4), weight only, gradient", (_x(3, 4, grad=True), 4, _x(4, grad=True)), probe="backward"),
        Case("float64 (3, 4), bias only (by keyword), gradient", (_x(3, 4, grad=True), 4),
             {"bias": _x(4, grad=True)}, probe="backward"),
        Case("float64 (3, 4), eps=0.1, gradient", (_x(3, 4, grad=True, scale=0.3), 4, _x(4, grad=True), _x(4, grad=True)),
             {"eps": 0.1}, probe="backward"),
        Case("float64 constant rows (variance 0), gradient", (const, 4, _x(4, grad=True), _x(4, grad=True)), probe="backward"),
        Case("float32 (2, 3, 8), mean 10", (_x(2, 3, 8, dtype=S, scale=2, shift=10), 8, _x(8, dtype=S), _x(8, dtype=S))),
        Case("float64 (4, 5) non-contiguous input", (_x(4, 5, transpose=True), 5)),
        Case("float64 (2, 3, 4), normalized_shape=(3, 4), gradient", (_x(2, 3, 4, grad=True, scale=2), (3, 4),
             _x(3, 4, grad=True), _x(3, 4, grad=True)), probe="backward"),
        Case("float32 (2, 2, 3, 4), normalized_shape=(2, 3, 4)", (_x(2, 2, 3, 4, dtype=S, scale=3, shift=1), (2, 3, 4))),
    )


def _dropout_property(args, kwargs, out) -> Msg | None:
    """Every output is 0 or x / (1 - p); the kept fraction is within 5 sigma of 1 - p."""
    x, p = args[0], kwargs.get("p", 0.5)
    kept = out != 0
    if not torch.allclose(out[kept], x[kept] / (1 - p), rtol=1e-6, atol=0):
        return Msg("保留下来的元素应恰好等于 x/(1-p)", "every kept element must equal x/(1-p) exactly")
    n, rate = x.numel(), kept.double().mean().item()
    if abs(rate - (1 - p)) > 5 * math.sqrt(p * (1 - p) / n):
        return Msg(f"保留比例为 {rate:.3f}，与 1-p 相差太远", f"kept fraction {rate:.3f} is too far from 1-p")
    return None


def _dropout_varies(args, kwargs) -> bool:
    """Two draws of a real dropout differ (for these sizes, with overwhelming probability)."""
    p = kwargs.get("p", 0.5)
    return kwargs.get("training", True) and 0 < p < 1 and bool((args[0] != 0).sum() >= 100)


def _nonzero(*shape, dtype=D):
    return Tensor(_rng.uniform(0.5, 2.0, shape) * _rng.choice([-1.0, 1.0], shape), dtype)


def _dropout_cases():
    zeros32 = Tensor(np.zeros((4, 5)), S)
    return (
        Case("float32 (3, 4), training=False: unchanged", (_x(3, 4, dtype=S),), {"p": 0.5, "training": False}, visible=True),
        Case("float64 (3, 4), p=0: unchanged, gradient", (_x(3, 4, grad=True),), {"p": 0.0}, visible=True, probe="backward"),
        Case("float64 (2, 3, 4), p=1: all zero, gradient", (_x(2, 3, 4, grad=True),), {"p": 1.0}, probe="backward"),
        Case("float32 (5,), p=1: all zero", (_x(5, dtype=S),), {"p": 1.0}),
        Case("float64 (2, 3, 4), training=False, gradient", (_x(2, 3, 4, grad=True),), {"p": 0.3, "training": False},
             probe="backward"),
        Case("float64 0-d, p=0", (_x(),), {"p": 0.0}),
        Case("float32 zeros (4, 5), default p=0.5: shape, dtype, device", (zeros32,), random=True),
        Case("float64 (100, 50), p=0.2: zeros or x/(1-p), kept fraction", (_nonzero(100, 50),), {"p": 0.2}, random=True),
        Case("float32 (40, 50), default p=0.5: zeros or x/(1-p), kept fraction", (_nonzero(40, 50, dtype=S),), random=True),
        Case("float64 (2, 30, 40), p=0.9: zeros or x/(1-p), kept fraction", (_nonzero(2, 30, 40),), {"p": 0.9}, random=True),
        Case("float64 (3, 4), p=1, inplace=True", (_x(3, 4),), {"p": 1.0, "inplace": True}, probe="inplace"),
        Case("float64 (3, 4), training=False, inplace=True", (_x(3, 4),), {"p": 0.5, "training": False, "inplace": True},
             probe="inplace"),
    )


def _pairwise_cases():
    same = _x(3, 4)
    return (
        Case("float32 (5, 4) and (5, 4)", (_x(5, 4, dtype=S), _x(5, 4, dtype=S)), visible=True),
        Case("float64 (5, 4) and (5, 4), gradient", (_x(5, 4, grad=True), _x(5, 4, grad=True)), visible=True, probe="backward"),
        *(Case(f"float64 (5, 4), p={p}, gradient", (_x(5, 4, grad=True), _x(5, 4, grad=True)), {"p": p}, probe="backward")
          for p in (1.0, 3.0, 0.5, -1.0, math.inf, -math.inf)),
        Case("float64 (5, 4), p=0 (count of non-zeros)", (_x(5, 4), _x(5, 4)), {"p": 0.0}),
        Case("float64 (5, 4), keepdim=True, eps=0.1, gradient", (_x(5, 4, grad=True), _x(5, 4, grad=True)),
             {"keepdim": True, "eps": 0.1}, probe="backward"),
        Case("float64 (5, 4) with (4,): broadcast, gradient", (_x(5, 4, grad=True), _x(4, grad=True)), probe="backward"),
        Case("float64 1-D (4,) and (4,): 0-d result, gradient", (_x(4, grad=True), _x(4, grad=True)), probe="backward"),
        Case("float64 (2, 3, 4) with (3, 4), p=3, keepdim=True", (_x(2, 3, 4), _x(3, 4)), {"p": 3.0, "keepdim": True}),
        Case("float64 equal rows, eps=0: distance 0, gradient",
             (Tensor(same.data, D, requires_grad=True), Tensor(same.data.copy(), D, requires_grad=True)), {"eps": 0.0},
             probe="backward"),
        Case("float64 equal rows, default eps", (same, Tensor(same.data.copy(), D))),
        Case("float32 (6, 3), p=inf, keepdim=True", (_x(6, 3, dtype=S), _x(6, 3, dtype=S)), {"p": math.inf, "keepdim": True}),
    )


def _cosine_cases():
    tiny = Tensor(np.array([[1e-10, 0.0, 0.0], [1e-9, 2e-9, 0.0], [1.0, 2.0, 3.0]]), D)
    other = Tensor(np.array([[100.0, 0.0, 0.0], [3.0, 1.0, 2.0], [-1.0, 0.5, 2.0]]), D)
    zero = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [0.3, 0.1, -0.2]])
    return (
        Case("float32 (5, 4), dim=1", (_x(5, 4, dtype=S), _x(5, 4, dtype=S)), visible=True),
        Case("float64 (5, 4), dim=1, gradient", (_x(5, 4, grad=True), _x(5, 4, grad=True)), visible=True, probe="backward"),
        Case("float64 (5, 4), dim=0, gradient", (_x(5, 4, grad=True), _x(5, 4, grad=True)), {"dim": 0}, probe="backward"),
        Case("float64 (2, 3, 4), dim=-1, gradient", (_x(2, 3, 4, grad=True), _x(2, 3, 4, grad=True)), {"dim": -1},
             probe="backward"),
        Case("float64 1-D (4,), dim=0, gradient", (_x(4, grad=True), _x(4, grad=True)), {"dim": 0}, probe="backward"),
        Case("float64 (5, 4) with (4,): broadcast, gradient", (_x(5, 4, grad=True), _x(4, grad=True)), probe="backward"),
        Case("float64 (2, 3, 4) with (1, 3, 4), dim=1", (_x(2, 3, 4), _x(1, 3, 4))),
        Case("float64 norms below eps: each norm clamped separately", (tiny, other)),
        Case("float64 a zero vector, gradient", (Tensor(zero, D, requires_grad=True), _x(3, 3, grad=True)), probe="backward"),
        Case("float64 eps=0.5 with short vectors", (_x(4, 3, scale=0.1), _x(4, 3)), {"eps": 0.5}),
        Case("float32 (6, 5) non-contiguous, dim=0", (_x(6, 5, dtype=S, transpose=True), _x(6, 5, dtype=S)), {"dim": 0}),
    )


def _bn_backward_reference(grad_output, input, weight=None, eps=1e-05):
    """torch's gradients of training-mode batch_norm w.r.t. (input, weight, bias), bias zero (it does not matter)."""
    C = input.shape[1]
    x = input.detach().requires_grad_()
    w = (torch.ones(C, dtype=input.dtype, device=input.device) if weight is None else weight.detach()).requires_grad_()
    b = torch.zeros(C, dtype=input.dtype, device=input.device, requires_grad=True)
    with torch.enable_grad():
        y = F.batch_norm(x, None, None, w, b, training=True, eps=eps)
    return torch.autograd.grad(y, (x, w, b), grad_output)


# a hand-written backward must not ask autograd for the answer, nor reach torch's backward kernels
AUTOGRAD = ("grad", "backward", "requires_grad_", "vjp", "jacrev", "jacfwd", "native_batch_norm_backward",
            "batch_norm_backward_reduce", "batch_norm_backward_elemt", "cudnn_batch_norm_backward",
            "miopen_batch_norm_backward", "_native_batch_norm_legit_backward")


def _bn_backward_cases():
    def case(name, shape, dtype=D, weight=True, transpose=False, **kw):
        g = _x(*shape, dtype=dtype, transpose=transpose)
        x = _x(*shape, dtype=dtype, scale=2.0, shift=1.0, transpose=transpose)
        args = (g, x, _x(shape[1], dtype=dtype)) if weight else (g, x)
        return Case(name, args, kw)

    const = np.array([[2.0, -1.0, 0.5], [2.0, 1.0, 0.5], [2.0, 3.0, 0.5], [2.0, 0.0, 0.5]])
    return (
        Case("float32 (4, 3)", (_x(4, 3, dtype=S), _x(4, 3, dtype=S, scale=2.0), _x(3, dtype=S)), visible=True),
        Case("float64 (4, 3, 5)", (_x(4, 3, 5), _x(4, 3, 5, scale=2.0, shift=1.0), _x(3)), visible=True),
        case("float64 (6, 3)", (6, 3)),
        case("float64 (2, 3, 4, 5)", (2, 3, 4, 5)),
        case("float64 (2, 2, 3, 4, 3)", (2, 2, 3, 4, 3)),
        case("float64 (5, 3, 2), weight=None", (5, 3, 2), weight=False),
        case("float64 (4, 3, 5), eps=1e-3", (4, 3, 5), eps=1e-3),
        case("float64 (1, 3, 4), batch of one", (1, 3, 4)),
        case("float32 (2, 3, 4, 5)", (2, 3, 4, 5), dtype=S),
        case("float64 (4, 3) non-contiguous", (4, 3), transpose=True),
        Case("float64 a constant channel (variance 0: sigma = sqrt(eps))", (_x(4, 3), Tensor(const, D), _x(3))),
        case("float64 (0, 3) empty batch", (0, 3)),
    )


def _problem(function, title_zh, title_en, points, cases, forbidden=None, reference=None):
    return Problem(function=function, title_zh=title_zh, title_en=title_en, points=points,
                   reference=reference or getattr(F, function), cases=cases,
                   forbidden=forbidden if forbidden is not None else with_inplace(function))


PROBLEMS = (
    _problem("linear", "线性层", "Linear layer", 2, _linear_cases()),
    _problem("batch_norm", "批量规范化", "Batch normalization", 3, _batch_norm_cases(), NORM_KERNELS),
    _problem("layer_norm", "层规范化", "Layer normalization", 3, _layer_norm_cases(), NORM_KERNELS,
             reference=_layer_norm_reference),
    Problem(function="dropout", title_zh="暂退法（dropout）", title_en="Dropout", points=3, reference=F.dropout,
            cases=_dropout_cases(), forbidden=DROPOUT_KERNELS, validate=_dropout_property,
            varies=_dropout_varies),
    _problem("pairwise_distance", "成对距离", "Pairwise distance", 3, _pairwise_cases()),
    _problem("cosine_similarity", "余弦相似度", "Cosine similarity", 3, _cosine_cases()),
    _problem("batch_norm_backward", "批量规范化的反向传播（手写）", "Batch normalization backward, by hand", 3,
             _bn_backward_cases(), (*NORM_KERNELS, *AUTOGRAD, *with_inplace("batch_norm_backward")),
             reference=_bn_backward_reference),
)


# ------------------------------------------------------------------ zero-size inputs
# torch returns a result on an empty batch (an empty tensor, 0 for 'sum', nan for 'mean'), and so must the answer.

def _empty(*shape, grad=False, pos=False, ints=False):
    if ints:
        return Tensor(np.zeros(shape, dtype=np.int64), torch.int64)
    return Tensor(np.ones(shape) if pos else np.zeros(shape), torch.float64, requires_grad=grad)


_ZERO_SIZE = {
    "layer_norm": (
        Case("float64 (0, 5) empty batch, gradient", (_empty(0, 5, grad=True), 5, _empty(5, grad=True, pos=True), _empty(5, grad=True)), probe="backward"),
    ),
    "dropout": (
        Case("float64 (0, 4) empty, p=1, training", (_empty(0, 4),), {"p": 1.0}),
        Case("float64 (0, 4) empty, evaluation", (_empty(0, 4),), {"training": False}),
    ),
    "pairwise_distance": (
        Case("float64 (0, 5) empty batch, gradient", (_empty(0, 5, grad=True), _empty(0, 5, grad=True)), probe="backward"),
    ),
    "cosine_similarity": (
        Case("float64 (0, 5) empty batch, gradient", (_empty(0, 5, grad=True), _empty(0, 5, grad=True)), probe="backward"),
    ),
}
PROBLEMS = tuple(dataclasses.replace(p, cases=p.cases + _ZERO_SIZE.get(p.function, ())) for p in PROBLEMS)

ASSIGNMENT = Assignment("a05_layers", PROBLEMS)
