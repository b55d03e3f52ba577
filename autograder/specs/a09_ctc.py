"""a09 CTC 损失（挑战题）/ The CTC loss (challenge): value and gradient of ``F.ctc_loss``, and the gradient
again by hand (``ctc_loss_backward``: the forward-backward algorithm, batched, autograd forbidden).

Batched (T, N, C) and unbatched (T, C) input, padded (N, S) and concatenated 1-D targets, every reduction,
``blank`` other than 0, ``zero_infinity``, impossible alignments, input lengths shorter than T, repeated labels,
empty targets, and sequences long enough that probabilities (not log-probabilities) underflow.

``log_probs`` are always real log-softmax outputs. Gradients are checked two ways:

* with respect to ``log_probs`` itself, against the true derivative :math:`-\\gamma`. PyTorch's CTC kernel returns
  :math:`y-\\gamma` for ``log_probs`` instead (lesson 08f): it assumes a ``log_softmax`` in front and hands back the
  gradient for the logits. The reference therefore adds a term whose value is exactly 0 and whose gradient is
  :math:`-y` on every frame the kernel differentiates (:func:`_reference`);
* with respect to the logits (``preprocess="log_softmax"``), where torch's convention and the true derivative agree.
"""
import numpy as np
import torch
import torch.nn.functional as F

from autograder.specs import LOSS_KERNELS, Assignment, Case, Problem, Tensor

_rng = np.random.default_rng(2409)


def _reference(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """F.ctc_loss, with the gradient for ``log_probs`` turned into the true derivative (see the module docstring).

    Per sample n the correction is z_n = sum_{t < T_n, k} y_{t,n,k} minus its detached self (value 0, gradient y on
    the frames t < T_n), zeroed where ``zero_infinity`` zeroes the loss, reduced like the loss and subtracted."""
    out = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)
    if not log_probs.requires_grad:
        return out
    lp = log_probs if log_probs.dim() == 3 else log_probs.unsqueeze(1)
    il = torch.as_tensor(input_lengths, device=lp.device).reshape(-1)
    tl = torch.as_tensor(target_lengths, device=lp.device).reshape(-1)
    active = torch.arange(lp.shape[0], device=lp.device)[:, None] < il[None, :]          # (T, N)
    y = torch.where(active[..., None], lp.exp(), torch.zeros_like(lp)).sum(dim=(0, 2))   # (N,)
    zero = y - y.detach()
    if zero_infinity:
        per = F.ctc_loss(log_probs.detach(), targets, input_lengths, target_lengths, blank, "none", False)
        zero = torch.where(per.reshape(-1) == float("inf"), torch.zeros_like(zero), zero)
    if reduction == "mean":
        zero = (zero / tl.clamp(min=1).to(zero.dtype)).mean()
    elif reduction == "sum":
        zero = zero.sum()
    elif log_probs.dim() == 2:
        zero = zero[0]
    return out - zero


def _log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _lp(T, N, C, dtype=torch.float64, grad=False, scale=2.0, logits=False):
    """Log-probabilities (or raw logits, for the log_softmax-preprocessed cases) of shape (T, N, C), or (T, C) if N is None."""
    z = _rng.standard_normal((T, C) if N is None else (T, N, C)) * scale
    return Tensor(z if logits else _log_softmax(z), dtype, requires_grad=grad)


def _i64(x):
    return Tensor(np.asarray(x, dtype=np.int64), torch.int64)


def _labels(lengths, C, blank=0, alphabet=None):
    labels = np.array(alphabet if alphabet is not None else [k for k in range(C) if k != blank])
    return [list(_rng.choice(labels, size=n)) for n in lengths]


def _padded(targets, C, width=None):
    """(N, width) with random class indices (blank included) after each target: padding must be ignored."""
    width = width or max(len(t) for t in targets)
    out = _rng.integers(0, C, size=(len(targets), width))
    for n, t in enumerate(targets):
        out[n, :len(t)] = t
    return _i64(out)


def _concat(targets):
    return _i64(np.concatenate([np.asarray(t, dtype=np.int64) for t in targets]))


def _batch(T, C, targets, input_lengths, *, concat=False, width=None, dtype=torch.float64, grad=False,
           logits=False, scale=2.0):
    """(log_probs, targets, input_lengths, target_lengths) for a batch."""
    tg = _concat(targets) if concat else _padded(targets, C, width)
    return (_lp(T, len(targets), C, dtype, grad, scale, logits), tg, _i64(input_lengths), _i64([len(t) for t in targets]))


def _one(T, C, target, input_length, *, dtype=torch.float64, grad=False):
    """Unbatched: (T, C) log_probs, a 1-D target of exactly its length, 0-d lengths."""
    return (_lp(T, None, C, dtype, grad), _i64(target), _i64(input_length), _i64(len(target)))


def _cases():
    C5 = _labels([4, 2, 3], 5)
    # one sample cannot be aligned: "abbc"-like with T_n = 4 (< S + repeats), another with T_n < S
    impossible = [[1, 2, 2, 3], [4, 1], [3, 1, 2, 4, 1]]
    imp_lengths = [4, 8, 4]
    return (
        Case("float64 (T=12, N=3, C=5), padded targets, reduction='none'",
             _batch(12, 5, C5, [12, 9, 7]), {"reduction": "none"}, visible=True),
        Case("float64 (12, 3, 5), default reduction='mean', gradient",
             _batch(12, 5, C5, [12, 9, 7], grad=True), visible=True, probe="backward"),
        Case("float32 (12, 3, 5), reduction='mean'", _batch(12, 5, _labels([4, 2, 3], 5), [12, 10, 8], dtype=torch.float32)),
        Case("float32 (12, 3, 5), reduction='none', gradient",
             _batch(12, 5, _labels([3, 3, 1], 5), [12, 11, 6], dtype=torch.float32, grad=True),
             {"reduction": "none"}, probe="backward"),
        Case("float64 (15, 4, 6), concatenated 1-D targets, reduction='sum'",
             _batch(15, 6, _labels([5, 3, 1, 4], 6), [15, 12, 6, 14], concat=True), {"reduction": "sum"}),
        Case("float64 (15, 4, 6), concatenated 1-D targets, reduction='none', gradient",
             _batch(15, 6, _labels([2, 6, 3, 4], 6), [13, 15, 9, 11], concat=True, grad=True),
             {"reduction": "none"}, probe="backward"),
        Case("float64 unbatched (T=10, C=4), reduction='none'", _one(10, 4, [1, 3, 3, 2], 10), {"reduction": "none"}),
        Case("float64 unbatched (10, 4), reduction='mean', gradient", _one(10, 4, [2, 1, 1], 8, grad=True),
             probe="backward"),
        Case("float32 unbatched (9, 6), reduction='sum'", _one(9, 6, [5, 4, 1], 9, dtype=torch.float32),
             {"reduction": "sum"}),
        Case("float64 (12, 3, 6), blank=5 (the last class), reduction='none', gradient",
             _batch(12, 6, _labels([4, 3, 2], 6, blank=5), [12, 10, 9], grad=True),
             {"blank": 5, "reduction": "none"}, probe="backward"),
        Case("float64 (12, 3, 6), blank=2, concatenated targets, reduction='mean'",
             _batch(12, 6, _labels([3, 4, 2], 6, blank=2), [12, 12, 7], concat=True), {"blank": 2}),
        Case("float64 (14, 3, 4), repeated labels (a blank must separate them), reduction='none'",
             _batch(14, 4, [[1, 1, 2, 2], [3, 3, 3], [2, 1, 1, 1, 2]], [14, 7, 11]), {"reduction": "none"}),
        Case("float64 (10, 4, 5), empty targets (S_n = 0), reduction='mean', gradient",
             _batch(10, 5, [[2, 3], [], [4], []], [10, 8, 10, 5], width=3, grad=True), probe="backward"),
        Case("float64 (6, 2, 3), every target empty, reduction='none'",
             _batch(6, 3, [[], []], [6, 4], concat=True), {"reduction": "none"}),
        Case("float64 (16, 3, 5), input_lengths < T and padding wider than needed, reduction='sum', gradient",
             _batch(16, 5, _labels([5, 2, 4], 5), [11, 16, 9], width=8, grad=True), {"reduction": "sum"},
             probe="backward"),
        Case("float64 (8, 3, 5), impossible alignments (loss inf), reduction='none'",
             _batch(8, 5, impossible, imp_lengths), {"reduction": "none"}),
        Case("float64 (8, 3, 5), impossible alignments, reduction='mean'", _batch(8, 5, impossible, imp_lengths)),
        Case("float64 (8, 3, 5), impossible alignments, zero_infinity=True, reduction='none', gradient",
             _batch(8, 5, impossible, imp_lengths, grad=True), {"reduction": "none", "zero_infinity": True},
             probe="backward"),
        Case("float64 (8, 3, 5), impossible alignments, zero_infinity=True, reduction='mean', gradient",
             _batch(8, 5, impossible, imp_lengths, concat=True, grad=True), {"zero_infinity": True}, probe="backward"),
        Case("float32 (8, 3, 5), impossible alignments, zero_infinity=True, reduction='sum'",
             _batch(8, 5, impossible, imp_lengths, dtype=torch.float32), {"reduction": "sum", "zero_infinity": True}),
        Case("float64 long (T=200, N=2, C=10), losses above 745: probabilities underflow, log space does not",
             _batch(200, 10, _labels([25, 10], 10), [200, 190], scale=5.0), {"reduction": "none"}),
        Case("float32 long (T=40, N=2, C=8), losses above 104, reduction='none'",
             _batch(40, 8, _labels([12, 6], 8), [40, 37], dtype=torch.float32, scale=4.0), {"reduction": "none"}),
        Case("float64 logits through log_softmax, (12, 3, 5), reduction='mean', gradient w.r.t. the logits",
             _batch(12, 5, _labels([3, 4, 1], 5), [12, 11, 9], grad=True, logits=True),
             probe="backward", preprocess="log_softmax"),
        Case("float64 logits through log_softmax, blank=4, impossible sample, zero_infinity=True, reduction='sum', "
             "gradient w.r.t. the logits",
             _batch(9, 5, [[0, 0, 1], [2, 3, 1, 0, 2], [1]], [9, 4, 6], grad=True, logits=True),
             {"blank": 4, "reduction": "sum", "zero_infinity": True}, probe="backward", preprocess="log_softmax"),
    )


def _backward_reference(grad_output, log_probs, *args, **kwargs):
    """The true derivative of the loss w.r.t. ``log_probs`` (:func:`_reference`), times grad_output."""
    x = log_probs.detach().requires_grad_()
    with torch.enable_grad():
        out = _reference(x, *args, **kwargs)
    (grad,) = torch.autograd.grad(out, x, grad_output)
    return grad


# a hand-written backward must not ask autograd for the answer, nor torch's CTC backward kernels
AUTOGRAD = ("grad", "backward", "requires_grad_", "vjp", "jacrev", "jacfwd", "_ctc_loss_backward", "ctc_loss_backward")


def _backward_cases(cases):
    """The forward cases again, as (grad_output, log_probs, targets, input_lengths, target_lengths): grad_output has
    the loss's shape (N,) for 'none' (0-d unbatched), else 0-d. Left out: cases through log_softmax (there the
    function gets log-probabilities anyway), and impossible alignments without zero_infinity (the gradient of an
    infinite loss is not defined)."""
    out = []
    for case in cases:
        if case.preprocess or ("impossible" in case.name and not case.kwargs.get("zero_infinity")):
            continue
        lp = case.args[0]
        shape = lp.data.shape
        loss_shape = ((shape[1],) if len(shape) == 3 else ()) if case.kwargs.get("reduction") == "none" else ()
        up = Tensor(_rng.uniform(0.5, 1.5, loss_shape), lp.dtype)
        name = case.name.replace(", gradient", "")
        out.append(Case(name, (up, Tensor(lp.data, lp.dtype), *case.args[1:]), dict(case.kwargs),
                        visible=len(out) < 2))
    return tuple(out)


_CASES = _cases()
PROBLEMS = (
    Problem(function="ctc_loss", title_zh="CTC 损失（挑战题）", title_en="CTC loss (challenge)", points=10,
            reference=_reference, cases=_CASES, forbidden=LOSS_KERNELS),
    Problem(function="ctc_loss_backward", title_zh="CTC 的反向传播：前向-后向算法（挑战题）",
            title_en="CTC backward: the forward-backward algorithm (challenge)", points=6,
            reference=_backward_reference, cases=_backward_cases(_CASES),
            forbidden=tuple(sorted({*LOSS_KERNELS, *AUTOGRAD})),
            # float32 over 40 frames with losses above 104: torch's own float32 gradient is ~5e-5 from the exact one
            tolerances={torch.float32: (1e-5, 1e-4)}),
)

ASSIGNMENT = Assignment("a09_ctc", PROBLEMS)
