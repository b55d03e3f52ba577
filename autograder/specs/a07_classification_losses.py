"""a07 分类损失 / Classification losses: NLL, cross-entropy, KL divergence, BCE, BCE with logits, soft margin,
multi-label soft margin; values and gradients.

Every reduction and option (class weights, ignore_index present in the targets, label_smoothing, probability targets,
pos_weight, log_target, 'batchmean'), unbatched and K-dimensional inputs where torch allows them, float32 and float64,
gradients with respect to the input (and to the target where torch differentiates it: probability targets of
cross_entropy, kl_div, both BCE losses). Two torch quirks shape the cases: soft_margin_loss computes log1p(exp(-y x))
directly and overflows to inf/nan once -y x passes ~88 (float32) or ~709 (float64), so its inputs stay moderate; and
binary_cross_entropy's backward clamps p (1 - p) at 1e-12 rounded to float32 even for float64 inputs (see _BCE_TOL).
"""
import dataclasses
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from autograder.specs import LOSS_KERNELS, Assignment, Case, Problem, Tensor

_rng = np.random.default_rng(2407)
_R = ("none", "mean", "sum")
F32, F64, I64 = torch.float32, torch.float64, torch.int64
# softplus / log-sigmoid are what the logit losses are made of: students write them stably themselves
_LOGIT_KERNELS = ("softplus", "log_sigmoid", "log_sigmoid_forward", "logsigmoid")
# binary_cross_entropy's backward divides by max(p (1 - p), EPSILON) with EPSILON the float32 number nearest 1e-12
# (9.99999996e-13) also for float64: a student clamping at the float64 1e-12 is off by 4e-9 relative there.
_BCE_TOL = {F64: (1e-8, 1e-12)}


def _quiet(fn):
    """The reference without torch's warning for kl_div(reduction='mean') (it would clutter the notebook)."""
    def reference(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    reference.__name__ = fn.__name__
    return reference


def _s(shape) -> str:
    return "0-d" if shape == () else str(tuple(shape))


def _t(data, dtype=F64, grad=False, **kw):
    if dtype == I64:
        return Tensor(np.asarray(data, dtype=np.int64), I64)
    return Tensor(np.asarray(data, dtype=np.float64), dtype, requires_grad=grad, **kw)


def _normal(shape, scale=2.0):
    return _rng.standard_normal(shape) * scale


def _labels(shape, C, ignore=True):
    """Class indices in [0, C); with ``ignore``, every third one (batched) is -100."""
    y = _rng.integers(0, C, shape)
    if ignore and y.ndim:
        y.reshape(-1)[1::3] = -100
    return y


def _weight(C):
    return _rng.uniform(0.2, 2.0, C)


def _probs(shape, cdim):
    e = np.exp(_normal(shape, 1.0))
    return e / e.sum(axis=cdim, keepdims=True)


def _logprobs(shape, cdim):
    return np.log(_probs(shape, cdim))


# (input shape, target shape, class dim): batched, unbatched, K = 1 and K = 2
_CE_SHAPES = (((5, 4), (5,), 1), ((4,), (), 0), ((3, 4, 6), (3, 6), 1), ((2, 4, 3, 5), (2, 3, 5), 1))


def _index_cases(make_input, label_smoothing=False):
    """Class-index targets for nll_loss / cross_entropy."""
    def x(shape, dtype=F64, grad=False):
        return _t(make_input(shape), dtype, grad)

    cases = [
        Case("float32 (5, 4), reduction='mean'", (x((5, 4), F32), _t(_labels(5, 4, False), I64)), visible=True),
        Case("float64 (5, 4), weight, targets -100 ignored, reduction='mean', gradient",
             (x((5, 4), grad=True), _t(_labels(5, 4), I64)), {"weight": _t(_weight(4))}, visible=True,
             probe="backward"),
    ]
    for shape, tshape, _ in _CE_SHAPES:
        ignore = tshape != ()
        for r in _R:
            cases.append(Case(f"float32 {_s(shape)}, reduction={r!r}", (x(shape, F32), _t(_labels(tshape, 4, False), I64)),
                              {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, no options, reduction={r!r}, gradient",
                              (x(shape, grad=True), _t(_labels(tshape, 4, False), I64)), {"reduction": r},
                              probe="backward"))
            what = "weight, targets -100 ignored" if ignore else "weight"
            cases.append(Case(f"float64 {_s(shape)}, {what}, reduction={r!r}, gradient",
                              (x(shape, grad=True), _t(_labels(tshape, 4, ignore), I64)),
                              {"weight": _t(_weight(4)), "reduction": r}, probe="backward"))
        cases.append(Case(f"float32 {_s(shape)}, weight, reduction='mean'",
                          (x(shape, F32), _t(_labels(tshape, 4, ignore), I64)), {"weight": _t(_weight(4), F32)}))
    for r in _R:
        cases.append(Case(f"float64 (6, 4), ignore_index=1 (class 1 present in the targets), weight, reduction={r!r}, "
                          "gradient", (x((6, 4), grad=True), _t([1, 0, 3, 1, 2, 1], I64)),
                          {"weight": _t(_weight(4)), "ignore_index": 1, "reduction": r}, probe="backward"))
        cases.append(Case(f"float64 (6, 4), ignore_index=1, no weight, reduction={r!r}, gradient",
                          (x((6, 4), grad=True), _t([1, 0, 3, 1, 2, 1], I64)), {"ignore_index": 1, "reduction": r},
                          probe="backward"))
    if label_smoothing:
        for eps in (0.1, 0.3):
            for r in _R:
                for kw, what in (({}, "no weight"), ({"weight": _t(_weight(4))}, "weight")):
                    cases.append(Case(f"float64 (5, 4), label_smoothing={eps}, {what}, targets -100 ignored, "
                                      f"reduction={r!r}, gradient", (x((5, 4), grad=True), _t(_labels(5, 4), I64)),
                                      {**kw, "label_smoothing": eps, "reduction": r}, probe="backward"))
        for shape, tshape, _ in _CE_SHAPES[1:]:
            for r in ("none", "mean"):
                cases.append(Case(f"float64 {_s(shape)}, label_smoothing=0.2, weight, reduction={r!r}, gradient",
                                  (x(shape, grad=True), _t(_labels(tshape, 4, tshape != ()), I64)),
                                  {"weight": _t(_weight(4)), "label_smoothing": 0.2, "reduction": r}, probe="backward"))
        cases.append(Case("float32 (2, 4, 3, 5), label_smoothing=0.1, weight, ignore_index=2",
                          (x((2, 4, 3, 5), F32), _t(_labels((2, 3, 5), 4, False), I64)),
                          {"weight": _t(_weight(4), F32), "label_smoothing": 0.1, "ignore_index": 2}))
        cases.append(Case("float64 logits up to 1000, label_smoothing=0.1, gradient",
                          (_t([[1000.0, 0.0, -1000.0], [-800.0, -801.0, -799.0]], grad=True), _t([1, 2], I64)),
                          {"label_smoothing": 0.1}, probe="backward"))
        cases.append(Case("float64 (4, 3), every target ignored, label_smoothing=0.2, reduction='sum'",
                          (x((4, 3)), _t([-100] * 4, I64)), {"label_smoothing": 0.2, "reduction": "sum"}))
    cases += [
        Case("float64 (4, 3), every target ignored, reduction='mean' (0/0 = nan)", (x((4, 3)), _t([-100] * 4, I64))),
        Case("float64 (4, 3), every target ignored, reduction='sum'", (x((4, 3)), _t([-100] * 4, I64)),
             {"reduction": "sum"}),
        Case("float32 (0, 3) empty batch, reduction='sum'", (x((0, 3), F32), _t(np.zeros(0), I64)), {"reduction": "sum"}),
        Case("float64 (5, 6) non-contiguous, reduction='none'",
             (_t(make_input((5, 6)), transpose=True), _t(_labels(5, 6), I64)), {"reduction": "none"}),
    ]
    return cases


def _ce_prob_cases():
    cases = []
    for shape, _, cdim in _CE_SHAPES:
        for r in _R:
            cases.append(Case(f"float64 {_s(shape)}, probability targets, weight, reduction={r!r}, gradient",
                              (_t(_normal(shape), grad=True), _t(_probs(shape, cdim))),
                              {"weight": _t(_weight(shape[cdim])), "reduction": r}, probe="backward"))
        cases.append(Case(f"float32 {_s(shape)}, probability targets, reduction='mean'",
                          (_t(_normal(shape), F32), _t(_probs(shape, cdim), F32))))
        cases.append(Case(f"float64 {_s(shape)}, probability targets, label_smoothing=0.25, weight, reduction='mean', "
                          "gradient", (_t(_normal(shape), grad=True), _t(_probs(shape, cdim))),
                          {"weight": _t(_weight(shape[cdim])), "label_smoothing": 0.25}, probe="backward"))
    for r in _R:
        cases.append(Case(f"float64 (5, 4), probability targets, label_smoothing=0.1, no weight, reduction={r!r}, "
                          "gradient", (_t(_normal((5, 4)), grad=True), _t(_probs((5, 4), 1))),
                          {"label_smoothing": 0.1, "reduction": r}, probe="backward"))
    cases.append(Case("float64 (5, 4), soft targets that need not sum to 1, ignore_index=-1 (no effect), gradient "
                      "w.r.t. input and target", (_t(_normal((5, 4)), grad=True),
                                                  _t(_rng.uniform(0, 1, (5, 4)), grad=True)),
                      {"ignore_index": -1, "weight": _t(_weight(4))}, probe="backward"))
    return cases


def _kl_cases():
    def target(shape, zeros=True):
        t = _probs(shape, -1) if shape else np.float64(0.3)
        if zeros and np.ndim(t):
            t.reshape(-1)[::4] = 0.0
        return t

    def logq(shape):
        return _logprobs(shape, -1) if shape else np.float64(-0.9)

    shapes = ((5, 4), (4,), (2, 3, 4), ())
    cases = [
        Case("float32 (5, 4), reduction='batchmean'", (_t(logq((5, 4)), F32), _t(target((5, 4)), F32)),
             {"reduction": "batchmean"}, visible=True),
        Case("float64 (5, 4), target with exact zeros, reduction='mean', gradient",
             (_t(logq((5, 4)), grad=True), _t(target((5, 4)))), visible=True, probe="backward"),
    ]
    for shape in shapes:
        for r in ("none", "mean", "sum", "batchmean"):
            cases.append(Case(f"float64 {_s(shape)}, target with exact zeros, reduction={r!r}, gradient",
                              (_t(logq(shape), grad=True), _t(target(shape))), {"reduction": r}, probe="backward"))
            cases.append(Case(f"float64 {_s(shape)}, log_target=True, reduction={r!r}, gradient",
                              (_t(logq(shape), grad=True), _t(np.log(target(shape, False)))),
                              {"reduction": r, "log_target": True}, probe="backward"))
        cases.append(Case(f"float32 {_s(shape)}, reduction='batchmean'", (_t(logq(shape), F32), _t(target(shape), F32)),
                          {"reduction": "batchmean"}))
    for log_target in (False, True):
        for r in ("sum", "batchmean"):
            t = target((5, 4), False)
            cases.append(Case(f"float64 (5, 4), log_target={log_target}, reduction={r!r}, gradient w.r.t. input and "
                              "target", (_t(logq((5, 4)), grad=True), _t(np.log(t) if log_target else t, grad=True)),
                              {"reduction": r, "log_target": log_target}, probe="backward"))
    cases += [
        Case("float32 (2, 3, 4), log_target=True, reduction='none'",
             (_t(logq((2, 3, 4)), F32), _t(np.log(target((2, 3, 4), False)), F32)),
             {"reduction": "none", "log_target": True}),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(logq((4, 6)), transpose=True), _t(target((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return cases


def _bce_cases():
    def p(shape):
        return _rng.uniform(0.02, 0.98, shape)

    def soft(shape):
        return _rng.uniform(0, 1, shape)

    def hard(shape):
        return (_rng.uniform(0, 1, shape) < 0.5).astype(np.float64)

    cases = [
        Case("float32 (4, 3), 0/1 targets, reduction='mean'", (_t(p((4, 3)), F32), _t(hard((4, 3)), F32)), visible=True),
        Case("float64 (4, 3), soft targets, reduction='sum', gradient", (_t(p((4, 3)), grad=True), _t(soft((4, 3)))),
             {"reduction": "sum"}, visible=True, probe="backward"),
    ]
    for shape in ((), (5,), (4, 3), (2, 3, 4)):
        for r in _R:
            cases.append(Case(f"float32 {_s(shape)}, 0/1 targets, reduction={r!r}", (_t(p(shape), F32), _t(hard(shape), F32)),
                              {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, soft targets, reduction={r!r}, gradient",
                              (_t(p(shape), grad=True), _t(soft(shape))), {"reduction": r}, probe="backward"))
    for wshape, what in (((3,), "weight (C,)"), ((4, 1), "weight (N, 1)"), ((4, 3), "weight (N, C)")):
        for r in _R:
            cases.append(Case(f"float64 (4, 3), {what}, reduction={r!r}, gradient",
                              (_t(p((4, 3)), grad=True), _t(hard((4, 3)))), {"weight": _t(_weight(wshape)), "reduction": r},
                              probe="backward"))
    pe = [0.0, 1.0, 0.0, 1.0, 1e-50, 1e-60, 1e-13, 1 - 1e-13, 0.5, 0.3]
    ye = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 1.0]
    for r in ("none", "sum"):
        cases.append(Case(f"float64 p exactly 0 and 1, below e^-100, below 1e-12 (both clamps), reduction={r!r}, gradient",
                          (_t(pe, grad=True), _t(ye)), {"reduction": r}, probe="backward"))
    cases += [
        Case("float32 p exactly 0 and 1 (log clamped at -100), reduction='none'", (_t(pe, F32), _t(ye, F32)),
             {"reduction": "none"}),
        Case("float64 (4, 3), gradient w.r.t. input and soft target", (_t(p((4, 3)), grad=True), _t(soft((4, 3)), grad=True)),
             {"weight": _t(_weight((3,)))}, probe="backward"),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(p((4, 6)), transpose=True), _t(soft((4, 6)), transpose=True)), {"reduction": "none"}),
        Case("float32 (0, 3) empty, reduction='sum'", (_t(np.zeros((0, 3)), F32), _t(np.zeros((0, 3)), F32)),
             {"reduction": "sum"}),
    ]
    return cases


def _bcel_cases():
    def soft(shape):
        return _rng.uniform(0, 1, shape)

    def hard(shape):
        return (_rng.uniform(0, 1, shape) < 0.4).astype(np.float64)

    def x(shape):
        return _normal(shape, 3.0)

    cases = [
        Case("float32 (4, 3), 0/1 targets, reduction='mean'", (_t(x((4, 3)), F32), _t(hard((4, 3)), F32)), visible=True),
        Case("float64 (4, 3), pos_weight (3,), reduction='mean', gradient", (_t(x((4, 3)), grad=True), _t(hard((4, 3)))),
             {"pos_weight": _t(_rng.uniform(0.5, 4.0, 3))}, visible=True, probe="backward"),
    ]
    for shape in ((), (5,), (4, 3), (2, 3, 4)):
        for r in _R:
            cases.append(Case(f"float32 {_s(shape)}, soft targets, reduction={r!r}", (_t(x(shape), F32), _t(soft(shape), F32)),
                              {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, 0/1 targets, reduction={r!r}, gradient",
                              (_t(x(shape), grad=True), _t(hard(shape))), {"reduction": r}, probe="backward"))
    for r in _R:
        for wshape, what in (((3,), "weight (C,)"), ((4, 1), "weight (N, 1)"), ((4, 3), "weight (N, C)")):
            cases.append(Case(f"float64 (4, 3), {what}, reduction={r!r}, gradient",
                              (_t(x((4, 3)), grad=True), _t(hard((4, 3)))), {"weight": _t(_weight(wshape)), "reduction": r},
                              probe="backward"))
        cases.append(Case(f"float64 (4, 3), pos_weight (3,) and weight (3,), soft targets, reduction={r!r}, gradient",
                          (_t(x((4, 3)), grad=True), _t(soft((4, 3)))),
                          {"pos_weight": _t(_rng.uniform(0.5, 4.0, 3)), "weight": _t(_weight(3)), "reduction": r},
                          probe="backward"))
        cases.append(Case(f"float64 (2, 3, 4), pos_weight (4,) on the last dim, reduction={r!r}, gradient",
                          (_t(x((2, 3, 4)), grad=True), _t(hard((2, 3, 4)))),
                          {"pos_weight": _t(_rng.uniform(0.5, 4.0, 4)), "reduction": r}, probe="backward"))
    xe = [0.0, 800.0, -800.0, 40.0, -40.0, 0.0, 100.0, -100.0]
    ye = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.3]
    cases += [
        Case("float64 (2, 3, 4, 5), pos_weight (3, 1, 1) for dim 1, gradient",
             (_t(x((2, 3, 4, 5)), grad=True), _t(hard((2, 3, 4, 5)))), {"pos_weight": _t(_rng.uniform(0.5, 4.0, (3, 1, 1)))},
             probe="backward"),
        Case("float64 logits 0 and up to |800|, pos_weight 2.5 (0-d), reduction='none', gradient",
             (_t(xe, grad=True), _t(ye)), {"pos_weight": _t(2.5), "reduction": "none"}, probe="backward"),
        Case("float32 logits 0 and up to |800|, reduction='none'", (_t(xe, F32), _t(ye, F32)), {"reduction": "none"}),
        Case("float64 (4, 3), pos_weight and weight, gradient w.r.t. input and soft target",
             (_t(x((4, 3)), grad=True), _t(soft((4, 3)), grad=True)),
             {"pos_weight": _t(_rng.uniform(0.5, 4.0, 3)), "weight": _t(_weight((4, 1)))}, probe="backward"),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(x((4, 6)), transpose=True), _t(soft((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return cases


def _soft_margin_cases():
    def sign(shape):
        return np.where(_rng.uniform(0, 1, shape) < 0.5, -1.0, 1.0)

    cases = [
        Case("float32 (4, 5), targets ±1, reduction='mean'", (_t(_normal((4, 5)), F32), _t(sign((4, 5)), F32)),
             visible=True),
        Case("float64 (4, 5), targets ±1, reduction='none', gradient", (_t(_normal((4, 5)), grad=True), _t(sign((4, 5)))),
             {"reduction": "none"}, visible=True, probe="backward"),
    ]
    for shape in ((), (6,), (4, 5), (2, 3, 4)):
        for r in _R:
            cases.append(Case(f"float32 {_s(shape)}, reduction={r!r}", (_t(_normal(shape), F32), _t(sign(shape), F32)),
                              {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, reduction={r!r}, gradient",
                              (_t(_normal(shape), grad=True), _t(sign(shape))), {"reduction": r}, probe="backward"))
    cases += [
        Case("float64 margins up to |30| (and target 0: loss log 2), reduction='none', gradient",
             (_t([30.0, -30.0, 25.0, -25.0, 0.0, 3.0], grad=True), _t([1.0, 1.0, -1.0, -1.0, 1.0, 0.0])),
             {"reduction": "none"}, probe="backward"),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(_normal((4, 6)), transpose=True), _t(sign((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return cases


def _mlsm_cases():
    def hard(shape):
        return (_rng.uniform(0, 1, shape) < 0.5).astype(np.float64)

    cases = [
        Case("float32 (5, 4), reduction='mean'", (_t(_normal((5, 4)), F32), _t(hard((5, 4)), F32)), visible=True),
        Case("float64 (5, 4), weight (C,), reduction='none', gradient", (_t(_normal((5, 4)), grad=True), _t(hard((5, 4)))),
             {"weight": _t(_weight(4)), "reduction": "none"}, visible=True, probe="backward"),
    ]
    for shape in ((5, 4), (4,), (2, 3, 4)):
        for r in _R:
            cases.append(Case(f"float32 {_s(shape)}, reduction={r!r}", (_t(_normal(shape), F32), _t(hard(shape), F32)),
                              {"reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, reduction={r!r}, gradient",
                              (_t(_normal(shape), grad=True), _t(hard(shape))), {"reduction": r}, probe="backward"))
            cases.append(Case(f"float64 {_s(shape)}, weight (C,), soft targets, reduction={r!r}, gradient",
                              (_t(_normal(shape), grad=True), _t(_rng.uniform(0, 1, shape))),
                              {"weight": _t(_weight(4)), "reduction": r}, probe="backward"))
    cases += [
        Case("float64 logits up to |800|, reduction='none', gradient",
             (_t([[800.0, -800.0, 0.0], [-800.0, 30.0, -30.0]], grad=True), _t([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]])),
             {"reduction": "none"}, probe="backward"),
        Case("float64 (4, 6) non-contiguous, weight (C,)",
             (_t(_normal((4, 6)), transpose=True), _t(hard((4, 6)), transpose=True)), {"weight": _t(_weight(6))}),
    ]
    return cases


def _vjp(forward):
    """The reference for a backward problem: torch's gradient of ``forward`` w.r.t. its input, times grad_output."""
    def reference(grad_output, input, target, **kwargs):
        x = input.detach().requires_grad_()
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss = forward(x, target, **kwargs)
        (grad,) = torch.autograd.grad(loss, x, grad_output)
        return grad
    return reference


# a hand-written backward must not ask autograd for the answer, nor reach torch's backward kernels
AUTOGRAD = ("grad", "backward", "requires_grad_", "vjp", "jacrev", "jacfwd", "_log_softmax_backward_data",
            "_softmax_backward_data", "nll_loss_backward", "nll_loss2d_backward", "binary_cross_entropy_backward")


def _upstream(shape, dtype=F64):
    """grad_output: the gradient of some later loss w.r.t. this loss's output (0-d when reduced)."""
    return _t(_normal(shape, 1.0) + 0.5, dtype)


def _ce_backward_cases():
    def out_shape(tshape, r):
        return tshape if r == "none" else ()

    cases = [
        Case("float32 (5, 4), reduction='mean'", (_upstream((), F32), _t(_normal((5, 4)), F32),
                                                  _t(_labels(5, 4, False), I64)), visible=True),
        Case("float64 (5, 4), weight, targets -100 ignored, reduction='none'",
             (_upstream((5,)), _t(_normal((5, 4))), _t(_labels(5, 4), I64)),
             {"weight": _t(_weight(4)), "reduction": "none"}, visible=True),
    ]
    for shape, tshape, cdim in _CE_SHAPES + (((0, 4), (0,), 1),):
        ignore = tshape != () and shape[0] > 0
        for r in _R:
            cases.append(Case(f"float64 {_s(shape)}, weight{', targets -100 ignored' if ignore else ''}, reduction={r!r}",
                              (_upstream(out_shape(tshape, r)), _t(_normal(shape)), _t(_labels(tshape, 4, ignore), I64)),
                              {"weight": _t(_weight(4)), "reduction": r}))
            cases.append(Case(f"float64 {_s(shape)}, label_smoothing=0.2, weight, reduction={r!r}",
                              (_upstream(out_shape(tshape, r)), _t(_normal(shape)), _t(_labels(tshape, 4, ignore), I64)),
                              {"weight": _t(_weight(4)), "label_smoothing": 0.2, "reduction": r}))
            pshape = shape[:cdim] + shape[cdim + 1:]
            cases.append(Case(f"float64 {_s(shape)}, probability targets, label_smoothing=0.1, weight, reduction={r!r}",
                              (_upstream(out_shape(pshape, r)), _t(_normal(shape)), _t(_probs(shape, cdim))),
                              {"weight": _t(_weight(4)), "label_smoothing": 0.1, "reduction": r}))
        cases.append(Case(f"float32 {_s(shape)}, no options", (_upstream((), F32), _t(_normal(shape), F32),
                                                            _t(_labels(tshape, 4, False), I64))))
    cases += [
        Case("float64 (6, 4), ignore_index=1, label_smoothing=0.3, reduction='sum'",
             (_upstream(()), _t(_normal((6, 4))), _t([1, 0, 3, 1, 2, 1], I64)),
             {"ignore_index": 1, "label_smoothing": 0.3, "reduction": "sum"}),
        Case("float64 logits up to 1000, label_smoothing=0.1, reduction='none'",
             (_upstream((2,)), _t([[1000.0, 0.0, -1000.0], [-800.0, -801.0, -799.0]]), _t([1, 2], I64)),
             {"label_smoothing": 0.1, "reduction": "none"}),
        Case("float64 (4, 3), every target ignored, reduction='mean' (the gradient is 0, not nan)",
             (_upstream(()), _t(_normal((4, 3))), _t([-100] * 4, I64))),
        Case("float64 (5, 6) non-contiguous, reduction='none'",
             (_upstream((5,)), _t(_normal((5, 6)), transpose=True), _t(_labels(5, 6), I64)), {"reduction": "none"}),
    ]
    return cases


def _bcel_backward_cases():
    def x(shape):
        return _normal(shape, 3.0)

    def soft(shape):
        return _rng.uniform(0, 1, shape)

    cases = [
        Case("float32 (4, 3), reduction='mean'", (_upstream((), F32), _t(x((4, 3)), F32), _t(soft((4, 3)), F32)),
             visible=True),
        Case("float64 (4, 3), pos_weight (3,), reduction='none'", (_upstream((4, 3)), _t(x((4, 3))), _t(soft((4, 3)))),
             {"pos_weight": _t(_rng.uniform(0.5, 4.0, 3)), "reduction": "none"}, visible=True),
    ]
    for shape in ((), (5,), (4, 3), (2, 3, 4), (0, 3)):
        for r in _R:
            up = shape if r == "none" else ()
            cases.append(Case(f"float64 {_s(shape)}, reduction={r!r}", (_upstream(up), _t(x(shape)), _t(soft(shape))),
                              {"reduction": r}))
            if len(shape) >= 1:
                cases.append(Case(f"float64 {_s(shape)}, weight and pos_weight on the last dim, reduction={r!r}",
                                  (_upstream(up), _t(x(shape)), _t(soft(shape))),
                                  {"weight": _t(_weight(shape[-1])), "pos_weight": _t(_rng.uniform(0.5, 4.0, shape[-1])),
                                   "reduction": r}))
    xe = [0.0, 800.0, -800.0, 40.0, -40.0, 0.0, 100.0, -100.0]
    ye = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.3]
    cases += [
        Case("float64 (4, 3), weight (N, 1), reduction='sum'", (_upstream(()), _t(x((4, 3))), _t(soft((4, 3)))),
             {"weight": _t(_weight((4, 1))), "reduction": "sum"}),
        Case("float64 (2, 3, 4, 5), pos_weight (3, 1, 1) for dim 1", (_upstream(()), _t(x((2, 3, 4, 5))),
                                                                     _t(soft((2, 3, 4, 5)))),
             {"pos_weight": _t(_rng.uniform(0.5, 4.0, (3, 1, 1)))}),
        Case("float64 logits 0 and up to |800|, pos_weight 2.5 (0-d), reduction='none'",
             (_upstream((8,)), _t(xe), _t(ye)), {"pos_weight": _t(2.5), "reduction": "none"}),
        Case("float32 logits 0 and up to |800|, reduction='none'", (_upstream((8,), F32), _t(xe, F32), _t(ye, F32)),
             {"reduction": "none"}),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_upstream((4, 6)), _t(x((4, 6)), transpose=True), _t(soft((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return cases


def _problem(function, title_zh, title_en, points, cases, reference=None, forbidden=(), tolerances=None):
    return Problem(function=function, title_zh=title_zh, title_en=title_en, points=points,
                   reference=reference or getattr(F, function), cases=tuple(cases),
                   forbidden=tuple(sorted(set(LOSS_KERNELS) | set(forbidden))), tolerances=tolerances)


PROBLEMS = (
    _problem("nll_loss", "负对数似然", "Negative log-likelihood", 2,
             _index_cases(lambda shape: _logprobs(shape, 0 if len(shape) == 1 else 1) if shape else _normal(shape))),
    _problem("cross_entropy", "交叉熵", "Cross-entropy", 3,
             _index_cases(lambda shape: _normal(shape, 2.0), label_smoothing=True) + _ce_prob_cases()),
    _problem("kl_div", "KL 散度", "KL divergence", 2, _kl_cases(), reference=_quiet(F.kl_div)),
    _problem("binary_cross_entropy", "二元交叉熵", "Binary cross-entropy", 2.5, _bce_cases(), tolerances=_BCE_TOL),
    _problem("binary_cross_entropy_with_logits", "基于 logits 的二元交叉熵", "Binary cross-entropy with logits", 3,
             _bcel_cases(), forbidden=_LOGIT_KERNELS),
    _problem("soft_margin_loss", "逻辑斯谛损失（SoftMargin）", "Logistic loss (soft margin)", 1.5, _soft_margin_cases(),
             forbidden=_LOGIT_KERNELS),
    _problem("multilabel_soft_margin_loss", "多标签 SoftMargin 损失", "Multi-label soft margin loss", 2, _mlsm_cases(),
             forbidden=_LOGIT_KERNELS),
    _problem("cross_entropy_backward", "交叉熵的反向传播（手写）", "Cross-entropy backward, by hand", 3,
             _ce_backward_cases(), reference=_vjp(F.cross_entropy), forbidden=AUTOGRAD),
    _problem("binary_cross_entropy_with_logits_backward", "基于 logits 的二元交叉熵的反向传播（手写）",
             "Binary cross-entropy with logits backward, by hand", 2, _bcel_backward_cases(),
             reference=_vjp(F.binary_cross_entropy_with_logits), forbidden=(*AUTOGRAD, *_LOGIT_KERNELS, "sigmoid")),
)


# ------------------------------------------------------------------ zero-size inputs
# torch returns a result on an empty batch (an empty tensor, 0 for 'sum', nan for 'mean'), and so must the answer.

def _empty(*shape, grad=False, pos=False, ints=False):
    if ints:
        return Tensor(np.zeros(shape, dtype=np.int64), torch.int64)
    return Tensor(np.ones(shape) if pos else np.zeros(shape), torch.float64, requires_grad=grad)


_ZERO_SIZE = {
    "kl_div": (
        Case("float64 (0, 4) empty, reduction='sum', gradient", (_empty(0, 4, grad=True), _empty(0, 4)), {"reduction": "sum"}, probe="backward"),
        Case("float64 (0, 4) empty, reduction='batchmean'", (_empty(0, 4), _empty(0, 4)), {"reduction": "batchmean"}),
    ),
    "binary_cross_entropy_with_logits": (
        Case("float64 (0, 3) empty, reduction='sum', gradient", (_empty(0, 3, grad=True), _empty(0, 3)), {"reduction": "sum"}, probe="backward"),
    ),
    "soft_margin_loss": (
        Case("float64 (0,) empty, reduction='sum', gradient", (_empty(0, grad=True), _empty(0)), {"reduction": "sum"}, probe="backward"),
    ),
    "multilabel_soft_margin_loss": (
        Case("float64 (0, 4) empty batch, reduction='none', gradient", (_empty(0, 4, grad=True), _empty(0, 4)), {"reduction": "none"}, probe="backward"),
        Case("float64 (0, 4) empty batch, reduction='sum'", (_empty(0, 4), _empty(0, 4)), {"reduction": "sum"}),
    ),
}
PROBLEMS = tuple(dataclasses.replace(p, cases=p.cases + _ZERO_SIZE.get(p.function, ())) for p in PROBLEMS)

ASSIGNMENT = Assignment("a07_classification_losses", PROBLEMS)
