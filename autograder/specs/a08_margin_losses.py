"""a08 间隔损失与嵌入损失 / Margin and embedding losses: hinge embedding, margin ranking, multi-class and multi-label
hinge, cosine embedding, and the two triplet losses; values and gradients.

Every reduction and option, batched and unbatched shapes, float32 and float64, floating-point and int64 targets where torch
takes both, gradients with respect to every floating-point input (float64). Inputs are random floats, so no case sits
exactly on a kink (where the losses pick different subgradients). ``distance_function`` is a callable and cannot cross
the wire to the sandbox: only its default ``None`` is graded.
"""
import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from autograder.specs import LOSS_KERNELS, Assignment, Case, Problem, Tensor

_rng = np.random.default_rng(2408)
_REDUCTIONS = ("none", "mean", "sum")
_F32, _F64, _I64 = torch.float32, torch.float64, torch.int64

# Ready-made norms, distances and similarities (API calls and aten kernels): the embedding losses must write them out.
_NORMS = ("norm", "linalg_vector_norm", "linalg_norm", "frobenius_norm", "nuclear_norm", "renorm", "normalize",
          "pairwise_distance", "_pairwise_distance", "cosine_similarity", "cdist", "_cdist_forward", "_euclidean_dist",
          "dist")


def _s(shape) -> str:
    return "0-d" if shape == () else str(tuple(shape))


def _t(data, dtype=_F64, grad=False, **kw):
    return Tensor(np.asarray(data, dtype=np.int64 if dtype == _I64 else np.float64), dtype, requires_grad=grad, **kw)


def _normal(shape, scale=1.0):
    return _rng.standard_normal(shape) * scale


def _signs(shape):
    return np.where(_rng.random(shape) < 0.5, -1, 1)


# ------------------------------------------------------------------ hinge embedding, margin ranking

def _hinge_cases():
    def dist(shape):
        return _rng.uniform(0.0, 3.0, shape)

    cases = [
        Case("float32 (3, 4), float targets", (_t(dist((3, 4)), _F32), _t(_signs((3, 4)), _F32)), visible=True),
        Case("float64 (2, 3, 4), int64 targets, reduction='none', gradient",
             (_t(dist((2, 3, 4)), grad=True), _t(_signs((2, 3, 4)), _I64)), {"reduction": "none"}, visible=True,
             probe="backward"),
    ]
    for shape in ((), (5,), (3, 4), (2, 3, 4)):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 {_s(shape)}, reduction={r!r}, gradient",
                              (_t(dist(shape), grad=True), _t(_signs(shape))), {"reduction": r}, probe="backward"))
            cases.append(Case(f"float32 {_s(shape)}, int64 targets, reduction={r!r}",
                              (_t(dist(shape), _F32), _t(_signs(shape), _I64)), {"reduction": r}))
    for margin in (0.5, 2.0):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (4, 5), margin={margin}, reduction={r!r}, gradient",
                              (_t(dist((4, 5)), grad=True), _t(_signs((4, 5)))), {"margin": margin, "reduction": r},
                              probe="backward"))
    labels = np.array([1, -1, 0, 1, 0, -1])
    cases += [
        Case("float64 (6,), labels 0 get both terms (torch does not check labels), reduction='none', gradient",
             (_t(dist(6), grad=True), _t(labels)), {"reduction": "none"}, probe="backward"),
        Case("float64 (6,), int64 labels with 0, margin=1.5, reduction='mean'",
             (_t(dist(6)), _t(labels, _I64)), {"margin": 1.5}),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(dist((4, 6)), transpose=True), _t(_signs((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return tuple(cases)


def _ranking_cases():
    cases = [
        Case("float32 (6,), float targets", (_t(_normal(6), _F32), _t(_normal(6), _F32), _t(_signs(6), _F32)),
             visible=True),
        Case("float64 (3, 4), margin=0.5, reduction='none', gradient w.r.t. input1, input2 and target",
             (_t(_normal((3, 4)), grad=True), _t(_normal((3, 4)), grad=True), _t(_signs((3, 4)), grad=True)),
             {"margin": 0.5, "reduction": "none"}, visible=True, probe="backward"),
    ]
    for shape in ((), (6,), (3, 4), (2, 3, 4)):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 {_s(shape)}, reduction={r!r}, gradient w.r.t. input1, input2, target",
                              (_t(_normal(shape), grad=True), _t(_normal(shape), grad=True),
                               _t(_signs(shape), grad=True)), {"reduction": r}, probe="backward"))
            cases.append(Case(f"float32 {_s(shape)}, int64 targets, reduction={r!r}",
                              (_t(_normal(shape), _F32), _t(_normal(shape), _F32), _t(_signs(shape), _I64)),
                              {"reduction": r}))
    for margin in (0.5, 1.0, -0.2):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (8,), margin={margin}, reduction={r!r}, gradient",
                              (_t(_normal(8), grad=True), _t(_normal(8), grad=True), _t(_signs(8))),
                              {"margin": margin, "reduction": r}, probe="backward"))
    cases += [
        Case("float64 (8,), int64 targets, margin=0.3, gradient",
             (_t(_normal(8), grad=True), _t(_normal(8), grad=True), _t(_signs(8), _I64)), {"margin": 0.3},
             probe="backward"),
        Case("float64 (4, 6) non-contiguous, reduction='none'",
             (_t(_normal((4, 6)), transpose=True), _t(_normal((4, 6)), transpose=True),
              _t(_signs((4, 6)), transpose=True)), {"reduction": "none"}),
    ]
    return tuple(cases)


# ------------------------------------------------------------------ multi-class and multi-label hinge

def _multi_margin_cases():
    def data(n, c, dtype=_F64, grad=False):
        return _t(_normal((n, c)), dtype, grad), _t(_rng.integers(0, c, n), _I64)

    def weight(c, dtype=_F64):
        return _t(_rng.uniform(0.3, 2.0, c), dtype)

    cases = [
        Case("float32 (4, 5)", data(4, 5, _F32), visible=True),
        Case("float64 (3, 4), p=2, with weight, reduction='none', gradient", data(3, 4, grad=True),
             {"p": 2, "weight": weight(4), "reduction": "none"}, visible=True, probe="backward"),
    ]
    for p in (1, 2):
        for w in (False, True):
            for r in _REDUCTIONS:
                kw = {"p": p, "reduction": r, **({"weight": weight(5)} if w else {})}
                cases.append(Case(f"float64 (6, 5), p={p}, {'with' if w else 'no'} weight, reduction={r!r}, gradient",
                                  data(6, 5, grad=True), kw, probe="backward"))
        for margin in (0.5, 2.0):
            cases.append(Case(f"float64 (6, 5), p={p}, margin={margin}, with weight, reduction='sum', gradient",
                              data(6, 5, grad=True), {"p": p, "margin": margin, "weight": weight(5), "reduction": "sum"},
                              probe="backward"))
    for r in _REDUCTIONS:
        x, y = _t(_normal(5), grad=True), _t(_rng.integers(0, 5), _I64)
        cases.append(Case(f"float64 unbatched (5,), 0-d target, p=2, with weight, reduction={r!r}, gradient",
                          (x, y), {"p": 2, "weight": weight(5), "reduction": r}, probe="backward"))
    cases += [
        Case("float64 unbatched (5,), target (1,), reduction='none' (shape (1,)), gradient",
             (_t(_normal(5), grad=True), _t([3], _I64)), {"reduction": "none"}, probe="backward"),
        Case("float64 (1, 4), 0-d target, reduction='none' (0-d result)", (_t(_normal((1, 4))), _t(2, _I64)),
             {"reduction": "none"}),
        Case("float64 (3, 1), a single class (loss 0), gradient", data(3, 1, grad=True), {}, probe="backward"),
        Case("float32 (8, 6), p=2, margin=0.5, with weight", data(8, 6, _F32),
             {"p": 2, "margin": 0.5, "weight": weight(6, _F32)}),
        Case("float32 (8, 6), reduction='none'", data(8, 6, _F32), {"reduction": "none"}),
        Case("float64 (6, 4) non-contiguous, reduction='none'",
             (_t(_normal((6, 4)), transpose=True), _t(_rng.integers(0, 4, 6), _I64)), {"reduction": "none"}),
    ]
    return tuple(cases)


def _multilabel_target(n, c):
    """Rows: k distinct targets (k from 0 to C), then -1, then junk indices that must be ignored; one repeated index."""
    y = np.full((n, c), -1, dtype=np.int64)
    ks = [0, c, *(_rng.integers(1, c, max(n - 2, 0)))][:n]
    for row, k in enumerate(ks):
        y[row, :k] = _rng.permutation(c)[:k]
        if k < c - 1:
            y[row, k + 1:] = _rng.integers(0, c, c - k - 1)
    if n > 2 and c > 2 and ks[2] >= 2:
        y[2, 1] = y[2, 0]  # an index repeated in the prefix counts twice, as in torch
    return y


def _multilabel_cases():
    def data(n, c, dtype=_F64, grad=False):
        return _t(_normal((n, c)), dtype, grad), _t(_multilabel_target(n, c), _I64)

    cases = [
        Case("float32 (4, 5)", data(4, 5, _F32), visible=True),
        Case("float64 (5, 4), reduction='none', gradient", data(5, 4, grad=True), {"reduction": "none"},
             visible=True, probe="backward"),
    ]
    for n, c in ((6, 5), (10, 7)):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 ({n}, {c}), reduction={r!r}, gradient", data(n, c, grad=True),
                              {"reduction": r}, probe="backward"))
    for r in _REDUCTIONS:
        cases.append(Case(f"float64 unbatched (5,), target [1, 3, -1, 0, 4], reduction={r!r}, gradient",
                          (_t(_normal(5), grad=True), _t([1, 3, -1, 0, 4], _I64)), {"reduction": r},
                          probe="backward"))
    cases += [
        Case("float64 (1, 4), reduction='none' (shape (1,))", data(1, 4), {"reduction": "none"}),
        Case("float64 (3, 4), no -1 at all (every class a target: loss 0), gradient",
             (_t(_normal((3, 4)), grad=True), _t([[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2]], _I64)), {},
             probe="backward"),
        Case("float64 (3, 4), prefix empty in every row (loss 0)",
             (_t(_normal((3, 4))), _t([[-1, 0, 1, 2], [-1, -1, -1, -1], [-1, 3, 3, 3]], _I64)), {"reduction": "none"}),
        Case("float32 (8, 6), reduction='sum'", data(8, 6, _F32), {"reduction": "sum"}),
        Case("float32 (8, 6), reduction='none'", data(8, 6, _F32), {"reduction": "none"}),
        Case("float64 (6, 4) non-contiguous input, reduction='none'",
             (_t(_normal((6, 4)), transpose=True), _t(_multilabel_target(6, 4), _I64)), {"reduction": "none"}),
    ]
    return tuple(cases)


# ------------------------------------------------------------------ cosine embedding

def _cosine_backward_reference(grad_output, input1, input2, target, margin=0, reduction="mean"):
    """torch's gradients of cosine_embedding_loss w.r.t. (input1, input2), times grad_output."""
    a, b = input1.detach().requires_grad_(), input2.detach().requires_grad_()
    with torch.enable_grad():
        loss = F.cosine_embedding_loss(a, b, target, margin=margin, reduction=reduction)
    return torch.autograd.grad(loss, (a, b), grad_output)


# a hand-written backward must not ask autograd for the answer
AUTOGRAD = ("grad", "backward", "requires_grad_", "vjp", "jacrev", "jacfwd")


def _cosine_backward_cases():
    """(grad_output, input1, input2, target): grad_output has the loss's shape (per sample for 'none', else 0-d)."""
    def up(n, r, dtype=_F64):
        return _t(_normal(() if r != "none" else (n,) if n is not None else ()) + 0.5, dtype)

    def data(n, d, r, dtype=_F64, ydtype=None):
        return (up(n, r, dtype), _t(_normal((n, d)), dtype), _t(_normal((n, d)), dtype), _t(_signs(n), ydtype or dtype))

    cases = [
        Case("float32 (4, 5), reduction='mean'", data(4, 5, "mean", _F32), visible=True),
        Case("float64 (5, 3), margin=0.5, reduction='none'", data(5, 3, "none"), {"margin": 0.5, "reduction": "none"},
             visible=True),
    ]
    for margin in (0.0, 0.5, -0.3):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (8, 6), margin={margin}, reduction={r!r}", data(8, 6, r),
                              {"margin": margin, "reduction": r}))
    for r in _REDUCTIONS:
        cases.append(Case(f"float64 unbatched (6,), 0-d target, margin=0.2, reduction={r!r}",
                          (up(None, r), _t(_normal(6)), _t(_normal(6)), _t(-1.0 if r == "sum" else 1.0)),
                          {"margin": 0.2, "reduction": r}))
    x1 = _normal((5, 4))
    x1[0] = 0.0
    x1[3] = 1e-7
    x2 = _normal((5, 4))
    x2[3] = 1e-7
    cases += [
        Case("float64 (8, 6), int64 targets", data(8, 6, "mean", ydtype=_I64)),
        Case("float64 (5, 4), a zero vector, tiny vectors (norm ~ 2e-7) and a label 0, reduction='none'",
             (up(5, "none"), _t(x1), _t(x2), _t([1, -1, 0, 1, -1])), {"reduction": "none"}),
        Case("float32 (16, 8), margin=0.3, reduction='none'", data(16, 8, "none", _F32), {"margin": 0.3, "reduction": "none"}),
        Case("float64 (0, 4) empty batch, reduction='sum'", data(0, 4, "sum"), {"reduction": "sum"}),
        Case("float64 (6, 4) non-contiguous, reduction='none'",
             (up(6, "none"), _t(_normal((6, 4)), transpose=True), _t(_normal((6, 4)), transpose=True), _t(_signs(6))),
             {"reduction": "none"}),
    ]
    return tuple(cases)


# ------------------------------------------------------------------ triplets

def _triplet(shape, dtype=_F64, grad=False):
    """Positives near the anchors, negatives a bit farther: some triplets active, some not, some where swap matters."""
    a = _normal(shape)
    return (_t(a, dtype, grad), _t(a + 0.5 * _normal(shape), dtype, grad), _t(a + _normal(shape), dtype, grad))


def _triplet_cases():
    cases = [
        Case("float32 (6, 4)", _triplet((6, 4), _F32), visible=True),
        Case("float64 (5, 3), swap=True, reduction='none', gradient w.r.t. anchor, positive, negative",
             _triplet((5, 3), grad=True), {"swap": True, "reduction": "none"}, visible=True, probe="backward"),
    ]
    for swap in (False, True):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (10, 5), swap={swap}, reduction={r!r}, gradient", _triplet((10, 5), grad=True),
                              {"swap": swap, "reduction": r}, probe="backward"))
    for p in (1, 3, 1.5, float("inf")):
        for swap in (False, True):
            cases.append(Case(f"float64 (10, 5), p={p}, swap={swap}, reduction='none', gradient",
                              _triplet((10, 5), grad=True), {"p": p, "swap": swap, "reduction": "none"},
                              probe="backward"))
    for eps in (0.0, 0.1):
        cases.append(Case(f"float64 (10, 5), eps={eps}, reduction='none', gradient", _triplet((10, 5), grad=True),
                          {"eps": eps, "reduction": "none"}, probe="backward"))
    for margin in (0.3, 2.0):
        cases.append(Case(f"float64 (10, 5), margin={margin}, p=1, reduction='sum', gradient",
                          _triplet((10, 5), grad=True), {"margin": margin, "p": 1, "reduction": "sum"},
                          probe="backward"))
    for r in _REDUCTIONS:
        cases.append(Case(f"float64 unbatched (6,), swap=True, reduction={r!r}, gradient", _triplet(6, grad=True),
                          {"swap": True, "reduction": r}, probe="backward"))
    cases += [
        Case("float64 (2, 3, 4) (distance along the last dim), reduction='none', gradient",
             _triplet((2, 3, 4), grad=True), {"reduction": "none"}, probe="backward"),
        Case("float64 (4, 3), positive equal to the anchor in one row (eps keeps the gradient finite), gradient",
             (lambda a, n: (_t(a, grad=True), _t(np.vstack([a[:1], a[1:] + 0.3]), grad=True), _t(n, grad=True)))(
                 _normal((4, 3)), _normal((4, 3))), {"reduction": "none"}, probe="backward"),
        Case("float32 (16, 8), p=3, swap=True, reduction='none'", _triplet((16, 8), _F32),
             {"p": 3, "swap": True, "reduction": "none"}),
        Case("float32 (16, 8), margin=0.5, reduction='sum'", _triplet((16, 8), _F32), {"margin": 0.5, "reduction": "sum"}),
        Case("float64 (6, 4) non-contiguous, reduction='none'",
             tuple(_t(_normal((6, 4)), transpose=True) for _ in range(3)), {"reduction": "none"}),
    ]
    return tuple(cases)


def _triplet_distance_cases():
    cases = [
        Case("float32 (6, 4), default distance", _triplet((6, 4), _F32), visible=True),
        Case("float64 (5, 3), swap=True, reduction='none', gradient", _triplet((5, 3), grad=True),
             {"swap": True, "reduction": "none"}, visible=True, probe="backward"),
    ]
    for swap in (False, True):
        for r in _REDUCTIONS:
            cases.append(Case(f"float64 (10, 5), swap={swap}, reduction={r!r}, gradient", _triplet((10, 5), grad=True),
                              {"swap": swap, "reduction": r}, probe="backward"))
    for margin in (0.3, 2.0):
        cases.append(Case(f"float64 (10, 5), margin={margin}, swap=True, gradient", _triplet((10, 5), grad=True),
                          {"margin": margin, "swap": True}, probe="backward"))
    cases += [
        Case("float64 unbatched (6,), reduction='none', gradient", _triplet(6, grad=True), {"reduction": "none"},
             probe="backward"),
        Case("float64 (2, 3, 4), reduction='sum', gradient", _triplet((2, 3, 4), grad=True), {"reduction": "sum"},
             probe="backward"),
        Case("float64 (6, 4), distance_function=None given explicitly", _triplet((6, 4)),
             {"distance_function": None, "reduction": "none"}),
        Case("float32 (16, 8), margin=0.5, swap=True, reduction='none'", _triplet((16, 8), _F32),
             {"margin": 0.5, "swap": True, "reduction": "none"}),
    ]
    return tuple(cases)


def _batch_hard_reference(embeddings, labels, margin=1.0, p=2, eps=1e-06, reduction="mean"):
    """Mine with torch (pairwise_distance over every pair), then F.triplet_margin_loss on the mined triplets."""
    n = embeddings.shape[0]
    with torch.no_grad():
        dist = F.pairwise_distance(embeddings[:, None, :], embeddings[None, :, :], p=p, eps=eps)
        same = labels[:, None] == labels[None, :]
        positive = same & ~torch.eye(n, dtype=torch.bool, device=embeddings.device)
        negative = ~same
        valid = positive.any(dim=1) & negative.any(dim=1)
        pos = torch.where(positive, dist, -torch.inf).argmax(dim=1)
        neg = torch.where(negative, dist, torch.inf).argmin(dim=1)
    idx = valid.nonzero().reshape(-1)
    per = F.triplet_margin_loss(embeddings[idx], embeddings[pos[idx]], embeddings[neg[idx]], margin=margin, p=p,
                                eps=eps, reduction="none")
    if reduction == "none":
        return torch.zeros(n, dtype=embeddings.dtype, device=embeddings.device).index_put((idx,), per)
    return per.sum() if reduction == "sum" else per.mean()


def _batch_hard_cases():
    def emb(n, d, dtype=_F64, grad=False, scale=1.0):
        return _t(_normal((n, d), scale), dtype, grad)

    def lab(*counts):
        """labels with the given number of members per class, shuffled"""
        return _t(_rng.permutation(np.repeat(np.arange(len(counts)), counts)), _I64)

    cases = [
        Case("float32 (8, 4), 3 classes", (emb(8, 4, _F32), lab(3, 3, 2)), visible=True),
        Case("float64 (9, 5), 3 classes, reduction='none', gradient", (emb(9, 5, grad=True), lab(3, 3, 3)),
             {"reduction": "none"}, visible=True, probe="backward"),
    ]
    for r in _REDUCTIONS:
        cases.append(Case(f"float64 (12, 5), 4 classes, reduction={r!r}, gradient", (emb(12, 5, grad=True), lab(3, 3, 3, 3)),
                          {"reduction": r}, probe="backward"))
    for p in (1, 3, 1.5):
        cases.append(Case(f"float64 (10, 4), p={p}, gradient", (emb(10, 4, grad=True), lab(4, 3, 3)), {"p": p},
                          probe="backward"))
    for margin in (0.3, 2.0):
        cases.append(Case(f"float64 (10, 4), margin={margin}, reduction='sum', gradient",
                          (emb(10, 4, grad=True), lab(5, 5)), {"margin": margin, "reduction": "sum"}, probe="backward"))
    cases += [
        Case("float64 (7, 3), a class of one (that anchor has no positive: left out), reduction='none', gradient",
             (emb(7, 3, grad=True), lab(3, 3, 1)), {"reduction": "none"}, probe="backward"),
        Case("float64 (7, 3), a class of one, reduction='mean' over the valid anchors only, gradient",
             (emb(7, 3, grad=True), lab(3, 3, 1)), probe="backward"),
        Case("float64 (5, 3), one class only (no negatives): 'mean' is nan", (emb(5, 3), lab(5))),
        Case("float64 (5, 3), one class only, reduction='sum'", (emb(5, 3), lab(5)), {"reduction": "sum"}),
        Case("float64 (16, 8), eps=1e-3, margin=0.5", (emb(16, 8, scale=0.5), lab(4, 4, 4, 4)), {"eps": 1e-3, "margin": 0.5}),
        Case("float32 (16, 6), 4 classes, reduction='none'", (emb(16, 6, _F32), lab(4, 4, 4, 4)), {"reduction": "none"}),
        Case("float64 (6, 4) non-contiguous, reduction='none'", (_t(_normal((4, 6)).T.copy(), transpose=True), lab(2, 2, 2)),
             {"reduction": "none"}),
    ]
    return tuple(cases)


def _problem(function, title_zh, title_en, points, cases, forbidden=(), tolerances=None, reference=None):
    return Problem(function=function, title_zh=title_zh, title_en=title_en, points=points,
                   reference=reference or getattr(F, function), cases=cases,
                   forbidden=tuple(sorted({*LOSS_KERNELS, *forbidden})), tolerances=tolerances)


PROBLEMS = (
    _problem("hinge_embedding_loss", "合页嵌入损失", "Hinge embedding loss", 2, _hinge_cases()),
    _problem("margin_ranking_loss", "间隔排序损失", "Margin ranking loss", 2, _ranking_cases()),
    _problem("multi_margin_loss", "多类合页损失", "Multi-class hinge loss", 3, _multi_margin_cases()),
    _problem("multilabel_margin_loss", "多标签合页损失", "Multi-label hinge loss", 3, _multilabel_cases()),
    # torch stores the 1e-12 of this loss as a float32 constant (9.999999960041972e-13): for a zero or tiny vector a
    # float64 answer written with 1e-12 differs by ~2e-9 relative; allow that.
    _problem("cosine_embedding_loss_backward", "余弦嵌入损失的反向传播（手写）", "Cosine embedding loss backward, by hand", 3,
             _cosine_backward_cases(), (*_NORMS, *AUTOGRAD), tolerances={_F64: (1e-8, 1e-12)},
             reference=_cosine_backward_reference),
    _problem("triplet_margin_loss", "三元组间隔损失", "Triplet margin loss", 3, _triplet_cases(), _NORMS),
    _problem("triplet_margin_with_distance_loss", "自定义距离的三元组损失", "Triplet loss with any distance", 2,
             _triplet_distance_cases(), _NORMS),
    _problem("batch_hard_triplet_loss", "批内最难三元组（向量化挖掘）", "Batch-hard triplets (vectorised mining)", 3,
             _batch_hard_cases(), _NORMS, reference=_batch_hard_reference),
)


# ------------------------------------------------------------------ zero-size inputs
# torch returns a result on an empty batch (an empty tensor, 0 for 'sum', nan for 'mean'), and so must the answer.

def _empty(*shape, grad=False, pos=False, ints=False):
    if ints:
        return Tensor(np.zeros(shape, dtype=np.int64), torch.int64)
    return Tensor(np.ones(shape) if pos else np.zeros(shape), torch.float64, requires_grad=grad)


_ZERO_SIZE = {
    "hinge_embedding_loss": (
        Case("float64 (0,) empty, reduction='sum', gradient", (_empty(0, grad=True), _empty(0)), {"reduction": "sum"}, probe="backward"),
    ),
    "margin_ranking_loss": (
        Case("float64 (0,) empty, reduction='sum', gradient", (_empty(0, grad=True), _empty(0, grad=True), _empty(0)), {"reduction": "sum"}, probe="backward"),
    ),
    "multi_margin_loss": (
        Case("float64 (0, 4) empty batch, reduction='sum', gradient", (_empty(0, 4, grad=True), _empty(0, ints=True)), {"reduction": "sum"}, probe="backward"),
    ),
    "multilabel_margin_loss": (
        Case("float64 (0, 4) empty batch, reduction='sum', gradient", (_empty(0, 4, grad=True), _empty(0, 4, ints=True)), {"reduction": "sum"}, probe="backward"),
    ),
    "triplet_margin_loss": (
        Case("float64 (0, 5) empty batch, reduction='sum', gradient", (_empty(0, 5, grad=True), _empty(0, 5, grad=True), _empty(0, 5, grad=True)), {"reduction": "sum"}, probe="backward"),
    ),
    "triplet_margin_with_distance_loss": (
        Case("float64 (0, 5) empty batch, reduction='sum', gradient", (_empty(0, 5, grad=True), _empty(0, 5, grad=True), _empty(0, 5, grad=True)), {"reduction": "sum"}, probe="backward"),
    ),
}
PROBLEMS = tuple(dataclasses.replace(p, cases=p.cases + _ZERO_SIZE.get(p.function, ())) for p in PROBLEMS)

ASSIGNMENT = Assignment("a08_margin_losses", PROBLEMS)
