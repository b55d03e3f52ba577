"""a02 张量运算 / Tensor operations: broadcasting, batched matmul, reductions, top-k without sorting,
stack vs cat, gather by hand, one-hot, and the same-device/same-dtype rule. Every answer must be
device-agnostic: per-device cases run on CPU and, where present, on CUDA."""
from functools import partial

import numpy as np
import torch

from autograder.specs import Array, Assignment, Case, Problem, Tensor
from autograder.specs.cases import normal

_rng = np.random.default_rng(2002)


_x = partial(normal, _rng)


def _ints(*shape, low=-5, high=6, dtype=torch.int64, **kw):
    return Tensor(_rng.integers(low, high, size=shape), dtype, **kw)


def _t(shape, dtype=torch.float32):
    """A tensor of the given shape for shape-only problems (values do not matter)."""
    return Tensor(np.zeros(shape), dtype)


# ---------------------------------------------------------------- 1 broadcast_shape

def _broadcast_shape_ref(a, b):
    try:
        return tuple(torch.broadcast_shapes(a.shape, b.shape))
    except RuntimeError:
        return None


_BROADCAST_PAIRS = [  # (shape a, shape b, visible)
    ((3, 1), (4,), True),
    ((2, 3), (4, 3), True),
    ((2, 3), (3,), False),
    ((5, 1, 4), (3, 1), False),
    ((8, 1, 6, 1), (7, 1, 5), False),
    ((1,), (2, 3), False),
    ((2, 3), (), False),
    ((), (), False),
    ((0, 3), (1, 3), False),
    ((0,), (1,), False),
    ((3,), (3, 1), False),
    ((4, 1), (1, 4), False),
    ((2, 1, 3), (2, 2, 3), False),
    ((3,), (4,), False),
    ((2, 3, 4), (2, 1, 5), False),
    ((0,), (2,), False),
    ((1, 1, 1), (5,), False),
]

broadcast_shape = Problem(
    function="broadcast_shape",
    title_zh="按三条规则推出广播后的形状",
    title_en="the broadcast shape by the three rules",
    points=1.5,
    reference=_broadcast_shape_ref,
    # torch.broadcast_shapes is pure Python on integer shapes: no recorder sees it (the prose says so).
    forbidden=("broadcast_shapes", "broadcast_tensors", "broadcast_to", "expand", "expand_as",
               "add", "sub", "mul", "div", "rsub", "true_divide", "where", "eq", "ne",
               "maximum", "minimum", "zeros_like", "ones_like", "empty_like", "full_like"),
    cases=tuple(
        Case(f"{a} with {b}" + (" (incompatible -> None)" if _broadcast_shape_ref(torch.zeros(a), torch.zeros(b)) is None else ""),
             (_t(a), _t(b, torch.int64)), visible=v)
        for a, b, v in _BROADCAST_PAIRS
    ),
)

# ---------------------------------------------------------------- 2 pairwise_sq_dists


def _pairwise_ref(x, y):
    return ((x.unsqueeze(1) - y.unsqueeze(0)) ** 2).sum(-1)


pairwise_sq_dists = Problem(
    function="pairwise_sq_dists",
    title_zh="用广播求两组点之间的平方距离",
    title_en="pairwise squared distances by broadcasting",
    points=1.5,
    reference=_pairwise_ref,
    forbidden=("cdist", "_cdist_forward", "_euclidean_dist", "pdist", "_pdist_forward",
               "pairwise_distance", "norm", "linalg_vector_norm", "vector_norm"),
    cases=(
        Case("float32 x (4, 3), y (5, 3)", (_x(4, 3, dtype=torch.float32), _x(5, 3, dtype=torch.float32)), visible=True),
        Case("float64 x (3, 2), y (3, 2), gradient", (_x(3, 2, grad=True), _x(3, 2, grad=True)), visible=True, probe="backward"),
        Case("float64 x (6, 5), y (2, 5), gradient", (_x(6, 5, grad=True), _x(2, 5, grad=True)), probe="backward"),
        Case("float64 x (1, 4), y (7, 4)", (_x(1, 4), _x(7, 4))),
        Case("float32 x (5, 1), y (4, 1)", (_x(5, 1, dtype=torch.float32), _x(4, 1, dtype=torch.float32))),
        Case("float64 x (4, 4), y (4, 4) (square: the dims must not swap)", (_x(4, 4), _x(4, 4))),
        Case("float64 x (3, 5) non-contiguous, y (2, 5), gradient",
             (_x(3, 5, grad=True, transpose=True), _x(2, 5, grad=True)),
             probe="backward"),
        Case("int64 x (3, 2), y (4, 2)", (_ints(3, 2), _ints(4, 2))),
        Case("float64 x (0, 3), y (4, 3) (no points)", (_x(0, 3), _x(4, 3))),
        Case("float64 x (3, 0), y (2, 0) (no coordinates: all zero)", (_x(3, 0), _x(2, 0))),
    ),
)

# ---------------------------------------------------------------- 3 batched_matmul

batched_matmul = Problem(
    function="batched_matmul",
    title_zh="逐个样本循环做批量矩阵乘法",
    title_en="batched matrix multiplication by a loop over the batch",
    points=1.5,
    reference=lambda a, b: torch.matmul(a, b),
    forbidden=("bmm", "baddbmm", "einsum", "tensordot"),
    cases=(
        Case("float32 (5, 2, 3) @ (5, 3, 4)", (_x(5, 2, 3, dtype=torch.float32), _x(5, 3, 4, dtype=torch.float32)), visible=True),
        Case("float64 (3, 2, 2) @ (3, 2, 3), gradient", (_x(3, 2, 2, grad=True), _x(3, 2, 3, grad=True)), visible=True, probe="backward"),
        Case("float64 (4, 3, 5) @ (4, 5, 1), gradient", (_x(4, 3, 5, grad=True), _x(4, 5, 1, grad=True)), probe="backward"),
        Case("float64 (1, 4, 4) @ (1, 4, 4)", (_x(1, 4, 4), _x(1, 4, 4))),
        Case("float32 (6, 1, 3) @ (6, 3, 2)", (_x(6, 1, 3, dtype=torch.float32), _x(6, 3, 2, dtype=torch.float32))),
        Case("float64 (2, 3, 0) @ (2, 0, 4) (inner size 0: zeros)", (_x(2, 3, 0), _x(2, 0, 4))),
        Case("float64 (0, 2, 3) @ (0, 3, 4) (empty batch)", (_x(0, 2, 3), _x(0, 3, 4))),
        Case("float32 (3, 4, 2) @ (3, 2, 5)", (_x(3, 4, 2, dtype=torch.float32), _x(3, 2, 5, dtype=torch.float32))),
    ),
)

# ---------------------------------------------------------------- 4 masked_mean


def _masked_mean_ref(x, mask, dim, keepdim=False):
    total = torch.where(mask, x, torch.zeros_like(x)).sum(dim, keepdim=keepdim)
    return total / mask.sum(dim, keepdim=keepdim).clamp(min=1)


def _mask(*shape, p=0.6, **kw):
    return Tensor(_rng.random(shape) < p, torch.bool, **kw)


def _poisoned():
    """Values with nan/inf exactly where the mask is False: x * mask would give nan."""
    x = _rng.standard_normal((3, 4))
    mask = np.array([[True, False, True, False], [False, False, False, False], [True, True, True, False]])
    x[~mask] = np.array([np.nan, np.inf, -np.inf, np.nan, np.inf, np.nan, -np.inf])
    return x, mask


_px, _pm = _poisoned()

masked_mean = Problem(
    function="masked_mean",
    title_zh="只对掩码选中的元素求均值",
    title_en="the mean of the elements a mask selects",
    points=2.0,
    reference=_masked_mean_ref,
    forbidden=("nanmean",),
    cases=(
        Case("float32 (3, 4), dim=1", (_x(3, 4, dtype=torch.float32), _mask(3, 4), 1), visible=True),
        Case("float64 (2, 5), dim=0, keepdim=True, gradient", (_x(2, 5, grad=True), _mask(2, 5), 0), {"keepdim": True},
             visible=True, probe="backward"),
        Case("float64 (2, 3, 4), dim=-1, gradient", (_x(2, 3, 4, grad=True), _mask(2, 3, 4), -1), probe="backward"),
        Case("float64 (2, 3, 4), dim=1, keepdim=True", (_x(2, 3, 4), _mask(2, 3, 4), 1), {"keepdim": True}),
        Case("float64 (4, 4), dim=0 (square)", (_x(4, 4), _mask(4, 4), 0)),
        Case("float64 (3, 4), a row with nothing selected -> 0, gradient",
             (_x(3, 4, grad=True), Tensor(np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]) > 0, torch.bool), 1),
             probe="backward"),
        Case("float64 (3, 4), nan/inf where the mask is False, gradient",
             (Tensor(_px, torch.float64, requires_grad=True), Tensor(_pm, torch.bool), 1), probe="backward"),
        Case("float32 (3, 4), nan/inf where the mask is False, dim=0", (Tensor(_px, torch.float32), Tensor(_pm, torch.bool), 0)),
        Case("float64 (5,), dim=0 (result 0-d)", (_x(5), _mask(5), 0)),
        Case("float64 (4, 3) non-contiguous, dim=1", (_x(4, 3, transpose=True), _mask(4, 3, transpose=True), 1)),
        Case("float32 (3, 0), dim=1 (nothing to average)", (_x(3, 0, dtype=torch.float32), _mask(3, 0), 1)),
    ),
)

# ---------------------------------------------------------------- 5 topk_indices


def _topk_ref(x, k):
    return torch.sort(x, dim=-1, descending=True, stable=True).indices[..., :k]


def _distinct(*shape, dtype=torch.float64):
    n = int(np.prod(shape))
    return Tensor(_rng.permutation(n).reshape(shape) * 0.5 - n / 4 + _rng.uniform(0, 0.1, shape), dtype)


topk_indices = Problem(
    function="topk_indices",
    title_zh="不排序，找出最大的 k 个元素的下标",
    title_en="the indices of the k largest elements, without sorting",
    points=2.0,
    reference=_topk_ref,
    forbidden=("topk", "sort", "argsort", "msort", "kthvalue", "median", "nanmedian", "unique", "_unique2", "unique_dim"),
    cases=(
        Case("float32 (6,), k=3, no ties", (_distinct(6, dtype=torch.float32), 3), visible=True),
        Case("int64 (8,), k=4, ties: smaller index first", (Tensor(np.array([5, 1, 5, 0, 5, 1, 3, 5]), torch.int64), 4), visible=True),
        Case("float64 (3, 7), k=2, no ties", (_distinct(3, 7), 2)),
        Case("float64 (2, 3, 5), k=5 (all, in order)", (_distinct(2, 3, 5), 5)),
        Case("int64 (4, 9), k=4, many ties", (_ints(4, 9, low=0, high=3), 4)),
        Case("float32 (3, 6), k=3, ties", (Tensor(_rng.integers(-2, 2, (3, 6)) * 0.5, torch.float32), 3)),
        Case("int64 (5,), k=5, all equal", (Tensor(np.full(5, 7), torch.int64), 5)),
        Case("float64 (4,), k=0", (_distinct(4), 0)),
        Case("float64 (5, 4) non-contiguous, k=2", (Tensor(_rng.permutation(20).reshape(4, 5).T * 1.0, torch.float64, transpose=True), 2)),
        Case("float64 (6,), k=2, negative values and -0.5 repeated",
             (Tensor(np.array([-3.0, -0.5, -7.0, -0.5, -1.0, -0.5]), torch.float64), 2)),
        Case("float64 (0, 4), k=1 (no rows)", (_x(0, 4), 1)),
        Case("int32 (2, 5), k=3", (_ints(2, 5, dtype=torch.int32), 3)),
    ),
)

# ---------------------------------------------------------------- 6 interleave


def _interleave_ref(a, b):
    return torch.stack((a, b), dim=1).reshape((2 * a.shape[0],) + tuple(a.shape[1:]))


interleave = Problem(
    function="interleave",
    title_zh="用 stack 交错拼接两个张量的行",
    title_en="interleave the rows of two tensors with stack",
    points=1.0,
    reference=_interleave_ref,
    forbidden=("repeat_interleave",),
    cases=(
        Case("int64 (3, 2)", (_ints(3, 2), _ints(3, 2)), visible=True),
        Case("float64 (4, 3), gradient", (_x(4, 3, grad=True), _x(4, 3, grad=True)), visible=True, probe="backward"),
        Case("float32 (5,) 1-D", (_x(5, dtype=torch.float32), _x(5, dtype=torch.float32))),
        Case("float64 (2, 3, 4), gradient", (_x(2, 3, 4, grad=True), _x(2, 3, 4, grad=True)), probe="backward"),
        Case("float64 (4, 4) (square)", (_x(4, 4), _x(4, 4))),
        Case("float64 (3, 4) non-contiguous, gradient",
             (_x(3, 4, transpose=True, grad=True), _x(3, 4, grad=True)), probe="backward"),
        Case("bool (2, 3)", (Tensor(_rng.random((2, 3)) < 0.5, torch.bool), Tensor(_rng.random((2, 3)) < 0.5, torch.bool))),
        Case("float32 (0, 3) empty", (_x(0, 3, dtype=torch.float32), _x(0, 3, dtype=torch.float32))),
        Case("float64 (1, 5)", (_x(1, 5), _x(1, 5))),
    ),
)

# ---------------------------------------------------------------- 7 gather_rows


def _index(n_rows, m, n, **kw):
    return Tensor(_rng.integers(0, n, size=(n_rows, m)), torch.int64, **kw)


gather_rows = Problem(
    function="gather_rows",
    title_zh="不用 gather，按下标从每一行取元素",
    title_en="pick elements from each row by index, without gather",
    points=1.5,
    reference=lambda x, index: torch.gather(x, 1, index),
    forbidden=("gather", "take_along_dim", "take", "index_select"),
    cases=(
        Case("float32 x (3, 4), index (3, 2)", (_x(3, 4, dtype=torch.float32), _index(3, 2, 4)), visible=True),
        Case("float64 x (4, 5), index (4, 3) with repeats, gradient",
             (_x(4, 5, grad=True), Tensor(np.array([[0, 0, 4], [1, 2, 1], [3, 3, 3], [4, 0, 2]]), torch.int64)),
             visible=True, probe="backward"),
        Case("float64 x (2, 3), index (2, 6) (more picks than columns), gradient",
             (_x(2, 3, grad=True), _index(2, 6, 3)), probe="backward"),
        Case("int64 x (5, 6), index (5, 1)", (_ints(5, 6), _index(5, 1, 6))),
        Case("float64 x (3, 3), index (3, 3) (square)", (_x(3, 3), _index(3, 3, 3))),
        Case("float64 x (4, 3) non-contiguous, index (4, 2)", (_x(4, 3, transpose=True), _index(4, 2, 3))),
        Case("float32 x (3, 4), index (3, 2) non-contiguous", (_x(3, 4, dtype=torch.float32), _index(3, 2, 4, transpose=True))),
        Case("float64 x (3, 4), index (3, 0)", (_x(3, 4), _index(3, 0, 4))),
        Case("float64 x (0, 4), index (0, 2)", (_x(0, 4), _index(0, 2, 4))),
        Case("bool x (2, 5), index (2, 3)", (Tensor(_rng.random((2, 5)) < 0.5, torch.bool), _index(2, 3, 5))),
    ),
)

# ---------------------------------------------------------------- 8 one_hot_encode


def _labels(*shape, high=5, **kw):
    return Tensor(_rng.integers(0, high, size=shape), torch.int64, **kw)


one_hot_encode = Problem(
    function="one_hot_encode",
    title_zh="不用 one_hot，手写独热编码",
    title_en="one-hot encoding without one_hot",
    points=1.5,
    reference=lambda labels, num_classes=-1: torch.nn.functional.one_hot(labels, num_classes),
    forbidden=("one_hot",),
    cases=(
        Case("(4,), num_classes=5", (Tensor(np.array([1, 0, 4, 2]), torch.int64), 5), visible=True),
        Case("(6,), num_classes=-1 (max + 1)", (Tensor(np.array([2, 0, 2, 1, 0, 2]), torch.int64),), visible=True),
        Case("(3, 4), num_classes=6", (_labels(3, 4), 6)),
        Case("(2, 3, 2), num_classes=-1", (_labels(2, 3, 2, high=4),)),
        Case("0-d label, num_classes=3", (Tensor(np.array(2), torch.int64), 3)),
        Case("(5,), num_classes=10 (more classes than labels use)", (_labels(5, high=3), 10)),
        Case("(0,), num_classes=4 (no labels)", (Tensor(np.zeros(0), torch.int64), 4)),
        Case("(4, 3) non-contiguous, num_classes=5", (_labels(4, 3, transpose=True), 5)),
        Case("(3,), num_classes=-1, all label 0", (Tensor(np.zeros(3), torch.int64), -1)),
    ),
)

# ---------------------------------------------------------------- 9 add_array


def _add_array_ref(x, array):
    return x + torch.as_tensor(array, dtype=x.dtype, device=x.device)


add_array = Problem(
    function="add_array",
    title_zh="把 NumPy 数组搬到 x 的设备和数据类型上再相加",
    title_en="add a NumPy array after moving it to x's device and dtype",
    points=1.0,
    reference=_add_array_ref,
    cases=(
        Case("float32 x (2, 3) + float64 array (2, 3)", (_x(2, 3, dtype=torch.float32), Array(_rng.standard_normal((2, 3)))), visible=True),
        Case("float64 x (3, 4) + float32 array (4,), gradient",
             (_x(3, 4, grad=True), Array(_rng.standard_normal(4).astype(np.float32))), visible=True, probe="backward"),
        Case("int64 x (5,) + int32 array (5,)", (_ints(5), Array(_rng.integers(-9, 9, 5).astype(np.int32)))),
        Case("float32 x (2, 2) + int64 array (2, 1)", (_x(2, 2, dtype=torch.float32), Array(_rng.integers(-3, 3, (2, 1))))),
        Case("int32 x (3,) + int64 array (3,)", (_ints(3, dtype=torch.int32), Array(_rng.integers(-9, 9, 3)))),
        Case("float64 x (4, 3) non-contiguous + float64 array 0-d, gradient",
             (_x(4, 3, transpose=True, grad=True), Array(np.array(2.5))), probe="backward"),
        Case("float32 x (2, 3) + float64 array (3,) with 1e-9 steps (float32 rounds them)",
             (_x(2, 3, dtype=torch.float32), Array(np.array([1.0, 1.0 + 1e-9, 1.0 - 1e-9])))),
    ),
)

ASSIGNMENT = Assignment(
    name="a02_tensor_operations",
    problems=(
        broadcast_shape,
        pairwise_sq_dists,
        batched_matmul,
        masked_mean,
        topk_indices,
        interleave,
        gather_rows,
        one_hot_encode,
        add_array,
    ),
)
