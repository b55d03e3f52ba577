"""Answer key: a02_tensor_operations / 参考答案：a02_tensor_operations.

GENERATED from course/source/a02_tensor_operations/a02_tensor_operations.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import math

import numpy as np
import torch


def broadcast_shape(a, b):
    """The shape that a and b broadcast to, as a tuple of ints, or None if they cannot."""
    ndim = max(a.ndim, b.ndim)
    sa = (1,) * (ndim - a.ndim) + tuple(a.shape)  # 右对齐、左补 1 / align right, pad 1s on the left
    sb = (1,) * (ndim - b.ndim) + tuple(b.shape)
    out = []
    for p, q in zip(sa, sb):
        if p == q or q == 1:
            out.append(int(p))
        elif p == 1:
            out.append(int(q))
        else:
            return None
    return tuple(out)


def pairwise_sq_dists(x, y):
    """out[i, j] = sum_d (x[i, d] - y[j, d]) ** 2 for x (N, D) and y (M, D)."""
    diff = x.unsqueeze(1) - y.unsqueeze(0)  # (N, 1, D) - (1, M, D) -> (N, M, D)
    return (diff * diff).sum(dim=-1)


def batched_matmul(a, b):
    """(B, n, k) @ (B, k, m) -> (B, n, m), one 2-D product per batch item."""
    if a.shape[0] == 0:
        return a.new_zeros((0, a.shape[1], b.shape[2]))  # 同 dtype、同设备 / same dtype and device
    return torch.stack([a[i] @ b[i] for i in range(a.shape[0])])


def masked_mean(x, mask, dim, keepdim=False):
    """Mean of x over dim, counting only positions where mask is True (0 where none is)."""
    total = torch.where(mask, x, torch.zeros_like(x)).sum(dim, keepdim=keepdim)
    count = mask.sum(dim, keepdim=keepdim).clamp(min=1)  # int64，除法后得到 x 的 dtype / int64; dividing keeps x's dtype
    return total / count


def topk_indices(x, k):
    """Indices of the k largest elements along the last dim, largest first; ties: smaller index first."""
    n = x.shape[-1]
    pos = torch.arange(n, device=x.device)
    mine, other = x.unsqueeze(-1), x.unsqueeze(-2)  # [..., j, i]：元素 j 与元素 i 比较 / element j against element i
    beats = (other > mine) | ((other == mine) & (pos < pos.unsqueeze(-1)))  # i 排在 j 前面 / i ranks before j
    rank = beats.sum(dim=-1)  # (..., n)，是 0..n-1 的一个排列 / a permutation of 0..n-1
    at = rank.unsqueeze(-1) == torch.arange(k, device=x.device)  # (..., n, k)：元素 j 是否排第 r / is j at place r
    return (at * pos.unsqueeze(-1)).sum(dim=-2)


def interleave(a, b):
    """Rows a[0], b[0], a[1], b[1], ... as one (2N, ...) tensor."""
    pairs = torch.stack((a, b), dim=1)  # (N, 2, ...)
    return pairs.reshape((2 * a.shape[0],) + tuple(a.shape[1:]))


def gather_rows(x, index):
    """out[i, j] = x[i, index[i, j]], like torch.gather(x, 1, index)."""
    rows = torch.arange(x.shape[0], device=x.device).unsqueeze(1)  # (N, 1)
    return x[rows, index]  # 与 (N, m) 广播 / broadcasts with (N, m)


def one_hot_encode(labels, num_classes=-1):
    """out[..., c] = 1 where labels[...] == c, else 0 (int64)."""
    if num_classes == -1:
        num_classes = int(labels.max()) + 1
    classes = torch.arange(num_classes, device=labels.device)
    return (labels.unsqueeze(-1) == classes).long()


def add_array(x, array):
    """x + array, with the array moved to x's device and dtype first."""
    return x + torch.as_tensor(array, dtype=x.dtype, device=x.device)


def contiguous_strides(shape):
    """The strides (in elements) of torch.empty(shape), as a tuple of ints, computed from the shape alone."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)  # a dimension of size 0 still advances the stride as if it had one element
    return tuple(reversed(strides))
