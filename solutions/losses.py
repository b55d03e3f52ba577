"""Answer key: losses / 参考答案：losses.

GENERATED from course/source/a06_regression_losses/a06_regression_losses.ipynb, course/source/a07_classification_losses/a07_classification_losses.ipynb, course/source/a08_margin_losses/a08_margin_losses.ipynb, course/source/a09_ctc/a09_ctc.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import math

import numpy as np
import torch


def l1_loss(input, target, reduction="mean", weight=None):
    """Mean absolute error |input - target|, reduced / 平均绝对误差."""
    loss = (input - target).abs()
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
        if reduction == "mean":
            return loss.sum() / weight.sum()
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def mse_loss(input, target, reduction="mean", weight=None):
    """Mean squared error (input - target)**2, reduced / 均方误差."""
    loss = (input - target) ** 2
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
        if reduction == "mean":
            return loss.sum() / weight.sum()
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic for |d| < delta, delta * (|d| - delta / 2) beyond / Huber 损失."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = input - target
    a = d.abs()
    loss = torch.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Quadratic d**2 / (2 beta) for |d| < beta, |d| - beta / 2 beyond / 平滑 L1 损失."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    d = input - target
    a = d.abs()
    loss = torch.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-08, reduction="mean"):
    """Poisson negative log-likelihood of counts `target` / 泊松负对数似然."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = torch.exp(input) - target * input
    else:
        loss = input - target * torch.log(input + eps)
    if full:
        big = target > 1
        safe = torch.where(big, target, torch.ones_like(target))  # no log(0) anywhere
        stirling = safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe)
        loss = loss + torch.where(big, stirling, torch.zeros_like(stirling))
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-06, reduction="mean"):
    """Gaussian negative log-likelihood with mean `input` and variance `var` / 高斯负对数似然."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * torch.ones_like(input)
    elif torch.any(var < 0):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)  # one variance per row of the last dimension
        elif not (input.ndim == var.ndim
                  and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # clamp to eps, but let the gradient through as if unclamped (as torch does under no_grad)
    var = var - var.detach() + var.detach().clamp(min=eps)
    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def gaussian_nll_loss_backward(grad_output, input, target, var, full=False, eps=1e-06, reduction="mean"):
    """Gradients of gaussian_nll_loss w.r.t. input and var (var's own shape), by hand (no autograd)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    v = var.unsqueeze(-1) if var.shape != input.shape and var.shape == input.shape[:-1] else var
    v_clamped = torch.where(v < eps, torch.full_like(v, eps), v)  # the value is clamped, the gradient is not cut
    d = input - target
    g = grad_output / input.numel() if reduction == "mean" and input.numel() else grad_output
    grad_input = g * d / v_clamped
    grad_v = g * 0.5 * (1 / v_clamped - d * d / (v_clamped * v_clamped))
    # var was broadcast: sum its gradient over every dim where it had size 1
    summed = [i for i, (a, b) in enumerate(zip(grad_v.shape, v.shape)) if b == 1 and a != 1]
    if summed:
        grad_v = grad_v.sum(dim=summed, keepdim=True)
    return grad_input, grad_v.reshape(var.shape)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood: -weight[y] * input[y] per sample; 'mean' divides by the total weight."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = input.dim() == 1
    x = input.unsqueeze(0) if unbatched else input            # (N, C, d1, ...)
    y = target.unsqueeze(0) if unbatched else target          # (N, d1, ...)
    keep = y != ignore_index
    y0 = torch.where(keep, y, torch.zeros_like(y))            # a valid placeholder index for ignored samples
    w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device) if weight is None else weight
    w_y = torch.where(keep, w[y0], torch.zeros((), dtype=x.dtype, device=x.device))   # m_i * w_{y_i}
    picked = x.gather(1, y0.unsqueeze(1)).squeeze(1)          # x_{i, y_i}
    loss = torch.where(keep, -w_y * picked, torch.zeros_like(picked))   # 0 even where an ignored input is -inf
    if unbatched:
        loss, w_y = loss[0], w_y[0]
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w_y.sum()                             # weighted mean


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """log-softmax over the class dim (dim 1, or 0 when unbatched), then NLL; class-index or probability targets."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    cdim = 0 if input.dim() == 1 else 1
    C = input.shape[cdim]
    shifted = input - input.detach().amax(dim=cdim, keepdim=True)     # log-sum-exp trick
    logp = shifted - torch.log(torch.exp(shifted).sum(dim=cdim, keepdim=True))
    w = None if weight is None else weight.reshape((C,) + (1,) * (input.dim() - cdim - 1))
    if target.is_floating_point():                                  # probability targets, same shape as input
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        t = target if label_smoothing == 0 else target * (1 - label_smoothing) + label_smoothing / C
        wt = t if w is None else t * w
        loss = -(wt * logp).sum(dim=cdim)                             # one loss per sample (position)
        if reduction == "none":
            return loss
        return loss.sum() if reduction == "sum" else loss.mean()      # 'mean' divides by N (x d1 x ...), never by weights
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    keep = target != ignore_index
    smooth = -(logp if w is None else logp * w).sum(dim=cdim)         # sum_c w_c (-log p_c)
    smooth = torch.where(keep, smooth, torch.zeros_like(smooth))
    if reduction == "none":
        reduced = smooth
    elif reduction == "sum":
        reduced = smooth.sum()
    elif weight is None:
        reduced = smooth.sum() / keep.sum()
    else:                                                           # same denominator as the NLL part
        y0 = torch.where(keep, target, torch.zeros_like(target))
        reduced = smooth.sum() / torch.where(keep, weight[y0], torch.zeros_like(weight[y0])).sum()
    return (1 - label_smoothing) * nll + label_smoothing / C * reduced


def kl_div(input, target, reduction="mean", log_target=False):
    """Pointwise target * (log(target) - input), with 0 log 0 = 0; input (and target if log_target) are log-probabilities."""
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = torch.exp(target) * (target - input)
    else:
        zero = target == 0
        safe = torch.where(zero, torch.ones_like(target), target)     # log(1) = 0: no -inf in the unused branch
        loss = torch.where(zero, torch.zeros_like(target), target * torch.log(safe)) - target * input
    if reduction == "none":
        return loss
    if reduction == "sum" or (reduction == "batchmean" and input.dim() == 0):
        return loss.sum()
    if reduction == "batchmean":
        return loss.sum() / input.shape[0]
    return loss.sum() / loss.numel()


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [y log p + (1 - y) log(1 - p)], each log clamped at -100; torch's gradient convention."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape})")
    p = input.detach()
    if ((p < 0) | (p > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    log_p = torch.clamp(torch.log(p), min=-100)
    log_q = torch.clamp(torch.log1p(-p), min=-100)
    value = -(target * log_p + (1 - target) * log_q)
    # torch's backward: (p - y) / max(p (1 - p), eps), eps = 1e-12 rounded to float32 even for float64
    eps = 9.999999960041972e-13
    slope = (p - target.detach()) / torch.clamp(p * (1 - p), min=eps)
    # (input - p) is 0 in value, but autograd sees exactly this slope
    loss = value + (input - p) * slope
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE on logits, stable: (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    zero = torch.zeros_like(input)
    neg_abs = torch.where(input >= 0, -input, input)               # -|x|, slope -1 at x = 0
    softplus_neg = torch.where(input >= 0, zero, -input) + torch.log1p(torch.exp(neg_abs))   # log(1 + e^{-x})
    coef = 1 if pos_weight is None else 1 + (pos_weight - 1) * target   # pos_weight lines up with the last dim
    loss = (1 - target) * input + coef * softplus_neg
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def soft_margin_loss(input, target, reduction="mean"):
    """log(1 + exp(-y x)), element-wise, labels y in {-1, +1}."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    z = -target * input
    safe = torch.where(z > 0, -z, z)                                # -|z|
    loss = torch.where(z > 0, z, torch.zeros_like(z)) + torch.log1p(torch.exp(safe))   # softplus(z), stable
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """Per sample, the mean over the C classes (last dim) of the weighted BCE-with-logits terms; then reduce."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    terms = binary_cross_entropy_with_logits(input, target, weight, reduction="none")
    loss = terms.sum(dim=-1) / input.shape[-1]                     # divide by C, not by the weights
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def cross_entropy_backward(grad_output, input, target, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    """d cross_entropy / d input, times the upstream gradient, by hand (no autograd)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    cdim = 0 if input.dim() == 1 else 1
    C = input.shape[cdim]
    shape_c = (C,) + (1,) * (input.dim() - cdim - 1)               # broadcasts along the class dim
    w = torch.ones(shape_c, dtype=input.dtype, device=input.device) if weight is None else weight.reshape(shape_c)
    shifted = input - input.amax(dim=cdim, keepdim=True) if input.numel() else input
    e = torch.exp(shifted)
    p = e / e.sum(dim=cdim, keepdim=True)                           # softmax over the class dim
    eps = label_smoothing
    if target.is_floating_point():                                  # probability targets
        t = target * (1 - eps) + eps / C if eps else target
        wt = w * t
        per = p * wt.sum(dim=cdim, keepdim=True) - wt               # d loss_i / d x
        denom = None if reduction != "mean" else per.numel() // C if C else 0
    else:
        keep = (target != ignore_index).unsqueeze(cdim)
        y0 = torch.where(keep, target.unsqueeze(cdim), torch.zeros_like(target.unsqueeze(cdim)))
        classes = torch.arange(C, device=input.device).reshape(shape_c)
        onehot = (classes == y0).to(input.dtype)
        w_y = (w * onehot).sum(dim=cdim, keepdim=True) * keep       # m_i w_{y_i}
        per = (1 - eps) * w_y * (p - onehot)
        if eps:
            per = per + eps / C * (p * w.sum() - w) * keep
        denom = w_y.sum() if reduction == "mean" else None
        if denom is not None:                                       # every target ignored: torch's gradient is 0, not nan
            denom = torch.where(denom == 0, torch.ones_like(denom), denom)
    g = grad_output.unsqueeze(cdim) if reduction == "none" else grad_output
    return per * g / denom if reduction == "mean" else per * g


def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None, reduction="mean",
                                              pos_weight=None):
    """d binary_cross_entropy_with_logits / d input, times the upstream gradient, by hand (no autograd)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    e = torch.exp(torch.where(input >= 0, -input, input))          # exp(-|x|) <= 1
    sig = torch.where(input >= 0, 1 / (1 + e), e / (1 + e))         # sigmoid(x), stable
    pw = 1 if pos_weight is None else pos_weight
    grad = (1 + (pw - 1) * target) * sig - pw * target              # c sigmoid(x) - pos_weight y
    if weight is not None:
        grad = grad * weight
    if reduction == "mean":
        grad = grad / input.numel() if input.numel() else grad
    return grad * grad_output


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 / 合页嵌入损失."""
    zeros = torch.zeros_like(input)
    hinge = (margin - input).clamp(min=0)  # gradient -1 at the kink, as torch
    loss = torch.where(target != 1, hinge, zeros) + torch.where(target != -1, input, zeros)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def margin_ranking_loss(input1, input2, target, margin=0, reduction="mean"):
    """max(0, -y * (x1 - x2) + margin) / 间隔排序损失."""
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError("margin_ranking_loss: All input tensors should have same dimension")
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge loss: sum over wrong classes of w[y] * max(0, margin - x[y] + x[i]) ** p, over C."""
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if input.dim() > 2:
        raise RuntimeError(f"Expected a vector or a matrix, got input of shape {tuple(input.shape)}")
    C = input.shape[-1] if input.dim() > 0 else 1
    x = input.reshape(-1, C)
    y = target.reshape(-1)
    z = margin - x.gather(1, y[:, None]) + x  # (N, C)
    zeros = torch.zeros_like(z)
    wrong = torch.arange(C, device=x.device)[None, :] != y[:, None]
    h = torch.where(wrong & (z > 0), z, zeros)  # gradient 0 at the kink, as torch
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * weight[y][:, None]
    loss = h.sum(dim=1) / C
    if target.dim() == 0:
        loss = loss.reshape(())
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def multilabel_margin_loss(input, target, reduction="mean"):
    """Sum over (target j, non-target i) pairs of max(0, 1 - (x[y_j] - x[i])), over C."""
    if input.dim() > 2:
        raise RuntimeError(f"Expected a vector or a matrix, got input of shape {tuple(input.shape)}")
    C = input.shape[-1] if input.dim() > 0 else 1
    x = input.reshape(-1, C)
    y = target.reshape(-1, C)
    valid = (y >= 0).long().cumprod(dim=1).bool()  # before the first -1
    idx = torch.where(valid, y, torch.zeros_like(y))
    classes = torch.arange(C, device=x.device)
    is_target = ((idx[:, :, None] == classes) & valid[:, :, None]).any(dim=1)  # (N, C)
    z = 1 - x.gather(1, idx)[:, :, None] + x[:, None, :]  # (N, j, i)
    pair = valid[:, :, None] & ~is_target[:, None, :] & (z > 0)  # gradient 0 at the kink, as torch
    loss = torch.where(pair, z, torch.zeros_like(z)).sum(dim=(1, 2)) / C
    if target.dim() <= 1:
        loss = loss.reshape(())
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def cosine_embedding_loss(input1, input2, target, margin=0, reduction="mean"):
    """1 - cos where y = 1, max(0, cos - margin) where y = -1 (given: the form of lesson 08e) / 余弦嵌入损失（已给出）."""
    if target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.dim() != target.dim() + 1 or input2.dim() != target.dim() + 1:
        raise RuntimeError("cosine_embedding_loss: a 1D target needs 2D inputs, a 0D target 1D inputs")
    eps = 9.999999960041972e-13  # torch's 1e-12, stored as float32; added to the squared norms
    dot = (input1 * input2).sum(dim=-1)
    mag1 = (input1 * input1).sum(dim=-1) + eps
    mag2 = (input2 * input2).sum(dim=-1) + eps
    cos = dot / torch.sqrt(mag1 * mag2)
    zeros = torch.zeros_like(cos)
    loss = torch.where(target == 1, 1 - cos, zeros) + torch.where(target == -1, (cos - margin).clamp(min=0), zeros)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def cosine_embedding_loss_backward(grad_output, input1, input2, target, margin=0, reduction="mean"):
    """Gradients of cosine_embedding_loss w.r.t. input1 and input2, by hand (no autograd)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    eps = 9.999999960041972e-13                              # the same eps as the forward
    m1 = (input1 * input1).sum(dim=-1, keepdim=True) + eps
    m2 = (input2 * input2).sum(dim=-1, keepdim=True) + eps
    root = torch.sqrt(m1 * m2)
    cos = (input1 * input2).sum(dim=-1, keepdim=True) / root
    y = target.unsqueeze(-1)
    zero, one = torch.zeros_like(cos), torch.ones_like(cos)
    dl_dcos = torch.where(y == 1, -one, torch.where((y == -1) & (cos - margin >= 0), one, zero))
    g = grad_output.unsqueeze(-1) if reduction == "none" else grad_output
    if reduction == "mean" and target.numel():
        g = g / target.numel()
    scale = dl_dcos * g
    grad1 = scale * (input2 / root - cos * input1 / m1)
    grad2 = scale * (input1 / root - cos * input2 / m2)
    return grad1, grad2


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with the p-norm distance of pairwise_distance / 三元组间隔损失."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError("triplet_margin_loss: anchor, positive and negative must have the same number of dimensions")

    def distance(x1, x2):
        v = x1 - x2 + eps  # eps is added to the difference
        if p == 2:
            return torch.sqrt((v * v).sum(dim=-1))
        if p == 1:
            return v.abs().sum(dim=-1)
        if p == math.inf:
            return v.abs().amax(dim=-1)
        if p == 0:
            return (v != 0).sum(dim=-1).to(v.dtype)
        return (v.abs() ** p).sum(dim=-1) ** (1.0 / p)

    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = torch.minimum(d_neg, distance(positive, negative))
    loss = (margin + d_pos - d_neg).clamp(min=0)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) for any distance d / 任意距离的三元组损失."""
    if distance_function is None:
        return triplet_margin_loss(anchor, positive, negative, margin=margin, swap=swap, reduction=reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError("anchor, positive and negative must have the same number of dimensions")
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = torch.minimum(d_neg, distance_function(positive, negative))
    loss = (margin + d_pos - d_neg).clamp(min=0)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def batch_hard_triplet_loss(embeddings, labels, margin=1.0, p=2, eps=1e-06, reduction="mean"):
    """For every anchor, its hardest positive and hardest negative in the batch, then the triplet hinge."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    n = embeddings.shape[0]
    diff = embeddings[:, None, :] - embeddings[None, :, :] + eps       # (N, N, D), eps as pairwise_distance adds it
    dist = (diff.abs() ** p).sum(dim=-1) ** (1.0 / p)                  # (N, N): every pair at once
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(n, dtype=torch.bool, device=embeddings.device)
    negative = ~same
    inf = torch.full_like(dist, math.inf)
    hardest_pos = torch.where(positive, dist, -inf).amax(dim=1)         # the farthest positive
    hardest_neg = torch.where(negative, dist, inf).amin(dim=1)          # the nearest negative
    valid = positive.any(dim=1) & negative.any(dim=1)                   # an anchor needs both
    gap = torch.where(valid, hardest_pos - hardest_neg + margin, torch.zeros_like(hardest_pos))
    loss = torch.clamp(gap, min=0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / valid.sum()                                     # the mean over valid anchors


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean', zero_infinity=False):
    """CTC 损失：对全部对齐求和的 -log p(target | input) / CTC loss: -log p(target | input) over every alignment."""
    def _ctc_lse(*terms):
        # 逐元素 log(sum(exp(terms)))，全为 -inf 时梯度也安全 / element-wise, gradient-safe when every term is -inf
        m = terms[0]
        for x in terms[1:]:
            m = torch.maximum(m, x)
        m = m.detach()                                   # 平移量不影响值和梯度 / the shift changes neither value nor gradient
        dead = m == -math.inf                            # 每一项都是 -inf / every term is -inf
        m = torch.where(dead, torch.zeros_like(m), m)
        s = 0
        for x in terms:
            s = s + torch.exp(x - m)
        s = torch.where(dead, torch.ones_like(s), s)     # 不让 log(0) 进入计算图 / keep log(0) out of the graph
        return torch.where(dead, torch.full_like(s, -math.inf), m + torch.log(s))

    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)                # (T, N, C)
    T, N, C = lp.shape
    dev, dt = lp.device, lp.dtype
    il = torch.as_tensor(input_lengths, device=dev).long().reshape(-1)  # (N,)
    tl = torch.as_tensor(target_lengths, device=dev).long().reshape(-1) # (N,)
    tg = torch.as_tensor(targets, device=dev).long()
    S = int(tl.max()) if N > 0 else 0
    pos = torch.arange(S, device=dev)
    valid = pos[None, :] < tl[:, None]                                   # (N, S)
    if batched and tg.dim() == 1:                                        # 拼接形式 / concatenated targets
        start = torch.cumsum(tl, 0) - tl
        tg = tg[torch.where(valid, start[:, None] + pos[None, :], torch.zeros_like(pos)[None, :])]
    else:                                                                # 填充形式 / padded (N, S_max), or one (S,)
        tg = tg.reshape(N, -1)[:, :S]
    tg = torch.where(valid, tg, torch.full_like(tg, blank))             # 填充值随意 / padding may hold anything

    # 扩展标签序列 l' = (空白, l1, 空白, ..., lS, 空白) / extended labels, (N, 2S+1)
    blanks = torch.full((N, 1), blank, dtype=torch.long, device=dev)
    ext = torch.cat([torch.stack([blanks.expand(N, S), tg], dim=2).reshape(N, 2 * S), blanks], dim=1)
    L = 2 * S + 1
    skip = torch.zeros(N, L, dtype=torch.bool, device=dev)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]                              # 可从 s-2 跳到 s / may jump from s-2 to s
    emit = lp.gather(2, ext[None].expand(T, N, L))                       # log y_{t, l'_s}, (T, N, L)

    ninf = torch.full((N, 2), -math.inf, dtype=dt, device=dev)
    s_idx = torch.arange(L, device=dev)
    first = torch.where(s_idx < 2, emit[0], ninf[:, :1])                 # 从 s=0 或 s=1 出发 / start at s=0 or s=1
    no_frames = torch.where(s_idx == 0, torch.zeros_like(first), ninf[:, :1])   # T_n = 0：只有空目标 p = 1
    alpha = torch.where((il > 0)[:, None], first, no_frames)
    for t in range(1, T):
        step = torch.cat([ninf[:, :1], alpha], dim=1)[:, :L]            # s-1 -> s
        jump = torch.where(skip, torch.cat([ninf, alpha], dim=1)[:, :L], ninf[:, :1])   # s-2 -> s
        new = _ctc_lse(alpha, step, jump) + emit[t]
        alpha = torch.where((t < il)[:, None], new, alpha)               # t >= T_n 时保持不变 / frozen after T_n

    last = alpha.gather(1, (2 * tl)[:, None])[:, 0]                      # s = 2S_n
    before = alpha.gather(1, (2 * tl - 1).clamp(min=0)[:, None])[:, 0]   # s = 2S_n - 1
    before = torch.where(tl > 0, before, torch.full_like(before, -math.inf))
    loss = -_ctc_lse(last, before)                                       # 不可能时为 +inf / +inf if impossible
    if zero_infinity:
        loss = torch.where(loss == math.inf, torch.zeros_like(loss), loss)
    if reduction == 'mean':
        return (loss / tl.clamp(min=1).to(dt)).mean()
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'none':
        return loss if batched else loss[0]
    raise ValueError(f"{reduction} is not a valid value for reduction")


def ctc_loss_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean',
                      zero_infinity=False):
    """d ctc_loss / d log_probs (the true derivative, -gamma) times grad_output, by the forward-backward algorithm."""
    def lse(*terms):
        # log(sum(exp(terms))) without autograd: no gradient to protect, only the all -inf case
        m = terms[0]
        for x in terms[1:]:
            m = torch.maximum(m, x)
        safe = torch.where(m == -math.inf, torch.zeros_like(m), m)
        s = 0
        for x in terms:
            s = s + torch.exp(x - safe)
        return safe + torch.log(s)                       # log(0) = -inf where every term is -inf

    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)                # (T, N, C)
    T, N, C = lp.shape
    dev, dt = lp.device, lp.dtype
    il = torch.as_tensor(input_lengths, device=dev).long().reshape(-1)
    tl = torch.as_tensor(target_lengths, device=dev).long().reshape(-1)
    tg = torch.as_tensor(targets, device=dev).long()
    S = int(tl.max()) if N > 0 else 0
    pos = torch.arange(S, device=dev)
    valid = pos[None, :] < tl[:, None]
    if batched and tg.dim() == 1:
        start = torch.cumsum(tl, 0) - tl
        tg = tg[torch.where(valid, start[:, None] + pos[None, :], torch.zeros_like(pos)[None, :])]
    else:
        tg = tg.reshape(N, -1)[:, :S]
    tg = torch.where(valid, tg, torch.full_like(tg, blank))
    blanks = torch.full((N, 1), blank, dtype=torch.long, device=dev)
    ext = torch.cat([torch.stack([blanks.expand(N, S), tg], dim=2).reshape(N, 2 * S), blanks], dim=1)
    L = 2 * S + 1
    skip = torch.zeros(N, L, dtype=torch.bool, device=dev)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]                              # s-2 -> s allowed
    emit = lp.gather(2, ext[None].expand(T, N, L))                       # (T, N, L)
    ninf = torch.full((N, 2), -math.inf, dtype=dt, device=dev)
    s_idx = torch.arange(L, device=dev)

    # forward: alpha_t(s), emission at t included
    alphas = [torch.where(s_idx < 2, emit[0], ninf[:, :1]) if T else None]
    for t in range(1, T):
        a = alphas[-1]
        step = torch.cat([ninf[:, :1], a], dim=1)[:, :L]
        jump = torch.where(skip, torch.cat([ninf, a], dim=1)[:, :L], ninf[:, :1])
        alphas.append(lse(a, step, jump) + emit[t])
    # backward: beta_t(s), emission at t excluded; starts at each sequence's own last frame T_n - 1
    final = (s_idx[None, :] == 2 * tl[:, None]) | ((s_idx[None, :] == 2 * tl[:, None] - 1) & (tl[:, None] > 0))
    start_beta = torch.where(final, torch.zeros(N, L, dtype=dt, device=dev), ninf[:, :1])
    skip_next = torch.cat([skip[:, 2:], torch.zeros(N, 2, dtype=torch.bool, device=dev)], dim=1)[:, :L]  # s -> s+2
    betas = [None] * T
    beta = start_beta
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            nxt = beta + emit[t + 1]
            step = torch.cat([nxt[:, 1:], ninf[:, :1]], dim=1)           # s+1 -> s
            jump = torch.where(skip_next, torch.cat([nxt[:, 2:], ninf], dim=1)[:, :L], ninf[:, :1])
            beta = torch.where((t + 1 < il)[:, None], lse(nxt, step, jump), start_beta)
        betas[t] = beta
    last_t = (il - 1).clamp(min=0)
    alpha_last = torch.stack(alphas).gather(0, last_t[None, :, None].expand(1, N, L))[0] if T else ninf[:, :1].expand(N, L)
    log_p = lse(*(torch.where(final, alpha_last, ninf[:, :1]).unbind(1))) if L > 1 else alpha_last[:, 0]
    log_p = torch.where(il > 0, log_p, torch.where(tl == 0, torch.zeros_like(log_p), torch.full_like(log_p, -math.inf)))

    # gamma_t(k) = sum over s with l'_s = k of exp(alpha_t(s) + beta_t(s) - log p)
    grad = torch.zeros_like(lp)
    if T:
        occ = torch.exp(torch.stack(alphas) + torch.stack(betas) - log_p[None, :, None])      # (T, N, L)
        active = torch.arange(T, device=dev)[:, None] < il[None, :]
        occ = torch.where(active[..., None], occ, torch.zeros_like(occ))
        grad = grad.scatter_add(2, ext[None].expand(T, N, L), -occ)
    if zero_infinity:
        grad = torch.where((log_p == -math.inf)[None, :, None], torch.zeros_like(grad), grad)
    g = torch.as_tensor(grad_output, dtype=dt, device=dev)
    if reduction == "none":
        scale = g.reshape(-1) if batched else g.reshape(1)
    elif reduction == "sum":
        scale = g.expand(N)
    else:
        scale = g / (N * tl.clamp(min=1).to(dt))
    grad = grad * scale[None, :, None]
    return grad if batched else grad[:, 0]
