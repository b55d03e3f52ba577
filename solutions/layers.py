"""Answer key: layers / 参考答案：layers.

GENERATED from course/source/a05_layers/a05_layers.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import math

import numpy as np
import torch


def linear(input, weight, bias=None):
    """y = x W^T + b over the last dimension of input / 对输入的最后一维做仿射变换."""
    # weight is (out_features, in_features); .t() also accepts a 1-D weight (in_features,)
    out = torch.matmul(input, weight.t())
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05):
    """Normalise each channel (dim 1) over all other dimensions / 每个通道（第 1 维）在其余各维上规范化.

    training=True: batch statistics, and running_mean / running_var (when given) are updated in place.
    training=False: the running statistics are used.
    """
    if input.ndim < 2 and input.numel() == 0:  # (0,): no channel dim and nothing to normalise: torch returns it empty
        return input * 1
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects an input with a channel dimension (N, C, ...), got {tuple(input.shape)}")
    dims = [0] + list(range(2, input.ndim))      # every dimension except the channel
    shape = [1, -1] + [1] * (input.ndim - 2)     # a per-channel vector, broadcast against input
    if training:
        n = input.numel() // input.shape[1] if input.shape[1] else 0   # values per channel
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {tuple(input.shape)}")
        mean = input.mean(dim=dims, keepdim=True)
        var = ((input - mean) ** 2).mean(dim=dims, keepdim=True)   # biased: divide by n
        with torch.no_grad():                    # the update is not part of the graph
            if n == 0:                           # an empty batch teaches nothing: the running stats stay
                pass
            elif running_mean is not None:
                running_mean.mul_(1 - momentum).add_(momentum * mean.reshape(-1))
            if running_var is not None and n:    # unbiased: n / (n - 1)
                running_var.mul_(1 - momentum).add_(momentum * var.reshape(-1) * (n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (input - mean) / torch.sqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """Normalise each sample over its last len(normalized_shape) dimensions / 每个样本在最后几维上规范化."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or k > input.ndim or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"normalized_shape {list(shape)} does not match the end of the input shape {list(input.shape)}")
    dims = tuple(range(-k, 0))                    # the last k dimensions
    mean = input.mean(dim=dims, keepdim=True)
    var = ((input - mean) ** 2).mean(dim=dims, keepdim=True)   # biased
    out = (input - mean) / torch.sqrt(var + eps)
    if weight is not None:
        out = out * weight                        # shape normalized_shape: broadcasts over the leading dims
    if bias is not None:
        out = out + bias
    return out


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) / 以概率 p 置零，其余放大 1/(1-p)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input                              # the identity, like torch: the input itself
    if p == 1:
        out = input * torch.zeros((), dtype=input.dtype, device=input.device)   # avoid 0 * (1 / 0)
    else:
        keep = torch.empty_like(input).bernoulli_(1 - p)   # 1 with probability 1 - p
        out = input * (keep / (1 - p))
    return input.copy_(out) if inplace else out


def pairwise_distance(x1, x2, p=2.0, eps=1e-06, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension / 沿最后一维求 p-范数距离."""
    d = (x1 - x2 + eps).abs()                     # eps is added to the difference
    dim = max(x1.ndim, x2.ndim) - 1               # the last dimension after broadcasting
    if p == math.inf:
        return d.amax(dim=dim, keepdim=keepdim)
    if p == -math.inf:
        return d.amin(dim=dim, keepdim=keepdim)
    if p == 0:                                    # the number of non-zero entries (no gradient)
        return (d != 0).to(d.dtype).sum(dim=dim, keepdim=keepdim)
    s = (d ** p).sum(dim=dim, keepdim=keepdim)
    # gradient-safe root: at s = 0 the slope of s ** (1 / p) is infinite; torch takes the gradient to be 0 there
    ok = s > 0
    return torch.where(ok, torch.where(ok, s, torch.ones_like(s)) ** (1 / p), torch.zeros_like(s))


def cosine_similarity(x1, x2, dim=1, eps=1e-08):
    """x1 . x2 / (max(||x1||, eps) * max(||x2||, eps)) along dim / 沿 dim 的余弦相似度."""
    x1, x2 = torch.broadcast_tensors(x1, x2)    # each keeps its dtype; the product promotes

    def clamped_norm(x):
        s = (x * x).sum(dim=dim, keepdim=True)
        ok = s > 0                                # a zero vector: norm 0 with gradient 0, not 0 * inf = nan
        n = torch.where(ok, torch.sqrt(torch.where(ok, s, torch.ones_like(s))), torch.zeros_like(s))
        # like torch: the value is clamped at eps, but the clamp does not change the gradient
        return n + (n.clamp_min(eps) - n).detach()

    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(dim=dim)


def batch_norm_backward(grad_output, input, weight=None, eps=1e-05):
    """Gradients of training-mode batch_norm w.r.t. input, weight and bias, by hand (no autograd)."""
    dims = [0] + list(range(2, input.ndim))      # every dimension except the channel
    shape = [1, -1] + [1] * (input.ndim - 2)
    C = input.shape[1]
    n = input.numel() // C if C else 0           # values per channel
    gamma = torch.ones(C, dtype=input.dtype, device=input.device) if weight is None else weight
    grad_bias = grad_output.sum(dim=dims)
    if n == 0:                                   # an empty batch: nothing flows back
        return torch.zeros_like(input), torch.zeros_like(gamma), grad_bias
    mean = input.mean(dim=dims, keepdim=True)
    inv_std = 1 / torch.sqrt(((input - mean) ** 2).mean(dim=dims, keepdim=True) + eps)
    x_hat = (input - mean) * inv_std
    grad_weight = (grad_output * x_hat).sum(dim=dims)
    g_mean = grad_output.mean(dim=dims, keepdim=True)
    gx_mean = (grad_output * x_hat).mean(dim=dims, keepdim=True)
    grad_input = gamma.reshape(shape) * inv_std * (grad_output - g_mean - x_hat * gx_mean)
    return grad_input, grad_weight, grad_bias
