"""Wrong answers for a07 (each a whole solution cell) and the status each must get.

Typical mistakes: a plain mean where the weighted mean is due, an option ignored, log(softmax) that underflows,
the naive BCE formula whose gradient breaks at the clamps, 'mean' where 'batchmean' was asked, and torch's own
loss or softmax reached under another name.
"""

WRONG = {
    "nll_loss": [
        ("def nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean'):\n"
         "    x = input if input.dim() > 1 else input[None]\n"
         "    y = target if input.dim() > 1 else target[None]\n"
         "    keep = y != ignore_index\n"
         "    y0 = torch.where(keep, y, torch.zeros_like(y))\n"
         "    w = torch.ones(x.shape[1], dtype=x.dtype) if weight is None else weight\n"
         "    l = torch.where(keep, -w[y0] * x.gather(1, y0[:, None]).squeeze(1), torch.zeros((), dtype=x.dtype))\n"
         "    l = l if input.dim() > 1 else l[0]\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]  # plain mean, not the weighted mean\n",
         "wrong"),
        ("def nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean'):\n"
         "    return torch.nn.functional.cross_entropy(input.exp().log(), target, weight, ignore_index=ignore_index,\n"
         "                                             reduction=reduction) * 0 + torch._C._nn.nll_loss_nd(\n"
         "        input, target, weight, {'none': 0, 'mean': 1, 'sum': 2}[reduction], ignore_index)  # torch's own\n",
         "forbidden"),
    ],
    "cross_entropy": [
        ("def cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):\n"
         "    cdim = 0 if input.dim() == 1 else 1\n"
         "    e = torch.exp(input)\n"
         "    logp = torch.log(e / e.sum(dim=cdim, keepdim=True))  # overflows at large logits, smoothing ignored\n"
         "    if target.is_floating_point():\n"
         "        w = 1 if weight is None else weight.reshape((-1,) + (1,) * (input.dim() - cdim - 1))\n"
         "        l = -(w * target * logp).sum(dim=cdim)\n"
         "        return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n"
         "    return nll_loss(logp, target, weight, ignore_index, reduction)\n",
         "wrong"),
        ("def cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):\n"
         "    cdim = 0 if input.dim() == 1 else 1\n"
         "    logp = input - torch.logsumexp(input, dim=cdim, keepdim=True)  # logsumexp is not allowed\n"
         "    if target.is_floating_point():\n"
         "        t = target * (1 - label_smoothing) + label_smoothing / input.shape[cdim]\n"
         "        w = 1 if weight is None else weight.reshape((-1,) + (1,) * (input.dim() - cdim - 1))\n"
         "        l = -(w * t * logp).sum(dim=cdim)\n"
         "        return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n"
         "    return nll_loss(logp, target, weight, ignore_index, reduction)\n",
         "forbidden"),
        ("def cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):\n"
         "    cdim = 0 if input.dim() == 1 else 1\n"
         "    C = input.shape[cdim]\n"
         "    s = input - input.detach().amax(dim=cdim, keepdim=True)\n"
         "    logp = s - torch.log(torch.exp(s).sum(dim=cdim, keepdim=True))\n"
         "    if not target.is_floating_point():  # smoothing via one-hot: 'mean' then divides by N, not the weights\n"
         "        keep = target != ignore_index\n"
         "        y0 = torch.where(keep, target, torch.zeros_like(target))\n"
         "        onehot = (torch.arange(C).reshape((C,) + (1,) * (input.dim() - cdim - 1)) == y0.unsqueeze(cdim))\n"
         "        target = onehot.to(input.dtype) * keep.unsqueeze(cdim)\n"
         "    t = target * (1 - label_smoothing) + label_smoothing / C\n"
         "    w = 1 if weight is None else weight.reshape((C,) + (1,) * (input.dim() - cdim - 1))\n"
         "    l = -(w * t * logp).sum(dim=cdim)\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "wrong"),
    ],
    "kl_div": [
        ("def kl_div(input, target, reduction='mean', log_target=False):\n"
         "    t = torch.exp(target) if log_target else target\n"
         "    l = t * (torch.log(t) - input)  # 0 * log 0 = nan\n"
         "    n = input.shape[0] if reduction == 'batchmean' and input.dim() else l.numel()\n"
         "    return {'none': l, 'sum': l.sum()}.get(reduction, l.sum() / n)\n",
         "wrong"),
        ("def kl_div(input, target, reduction='mean', log_target=False):\n"
         "    t = torch.exp(target) if log_target else target\n"
         "    safe = torch.where(t > 0, t, torch.ones_like(t))\n"
         "    l = torch.where(t > 0, t * torch.log(safe), torch.zeros_like(t)) - t * input\n"
         "    return {'none': l, 'sum': l.sum()}.get(reduction, l.mean())  # 'batchmean' treated as 'mean'\n",
         "wrong"),
        ("def kl_div(input, target, reduction='mean', log_target=False):\n"
         "    return torch.kl_div(input, target, {'none': 0, 'mean': 1, 'sum': 2, 'batchmean': 2}[reduction],\n"
         "                        log_target=log_target) / (input.shape[0] if reduction == 'batchmean' and input.dim() else 1)\n",
         "forbidden"),
    ],
    "binary_cross_entropy": [
        ("def binary_cross_entropy(input, target, weight=None, reduction='mean'):\n"
         "    l = -(target * torch.clamp(torch.log(input), min=-100) + (1 - target) * torch.clamp(torch.log1p(-input), min=-100))\n"
         "    l = l if weight is None else l * weight  # autograd's gradient: wrong at the clamps\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "wrong"),
        ("def binary_cross_entropy(input, target, weight=None, reduction='mean'):\n"
         "    l = -(target * torch.log(input) + (1 - target) * torch.log(1 - input))  # no clamp: inf and nan\n"
         "    l = l if weight is None else l * weight\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "wrong"),
        ("def binary_cross_entropy(input, target, weight=None, reduction='mean'):\n"
         "    x = torch.log(input) - torch.log1p(-input)  # back to logits, then torch's own loss\n"
         "    return torch.nn.functional.binary_cross_entropy_with_logits(x, target, weight, reduction=reduction)\n",
         "forbidden"),
    ],
    "binary_cross_entropy_with_logits": [
        ("def binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean', pos_weight=None):\n"
         "    s = 1 / (1 + torch.exp(-input))  # naive: overflows at |x| = 800\n"
         "    pw = 1 if pos_weight is None else pos_weight\n"
         "    l = -(pw * target * torch.log(s) + (1 - target) * torch.log(1 - s))\n"
         "    l = l if weight is None else l * weight\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "wrong"),
        ("def binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean', pos_weight=None):\n"
         "    sp = torch.clamp(-input, min=0) + torch.log1p(torch.exp(-input.abs()))\n"
         "    l = (1 - target) * input + sp  # pos_weight ignored (and slope -1 at x = 0)\n"
         "    l = l if weight is None else l * weight\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "wrong"),
        ("def binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean', pos_weight=None):\n"
         "    coef = 1 if pos_weight is None else 1 + (pos_weight - 1) * target\n"
         "    l = (1 - target) * input + coef * torch.nn.functional.softplus(-input)  # torch's softplus\n"
         "    l = l if weight is None else l * weight\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "forbidden"),
    ],
    "soft_margin_loss": [
        ("def soft_margin_loss(input, target, reduction='mean'):\n"
         "    l = torch.log1p(torch.exp(-target * input))\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.sum() / input.shape[0] if input.dim() else l}[reduction]"
         "  # mean over the batch only\n",
         "wrong"),
        ("def soft_margin_loss(input, target, reduction='mean'):\n"
         "    return binary_cross_entropy_with_logits(input, target, reduction=reduction)  # labels not mapped to 0/1\n",
         "wrong"),
        ("def soft_margin_loss(input, target, reduction='mean'):\n"
         "    l = -torch.nn.functional.logsigmoid(target * input)  # torch's logsigmoid\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "forbidden"),
    ],
    "multilabel_soft_margin_loss": [
        ("def multilabel_soft_margin_loss(input, target, weight=None, reduction='mean'):\n"
         "    return binary_cross_entropy_with_logits(input, target, weight, reduction=reduction)  # no per-sample mean\n",
         "wrong"),
        ("def multilabel_soft_margin_loss(input, target, weight=None, reduction='mean'):\n"
         "    l = binary_cross_entropy_with_logits(input, target, weight, reduction='none')\n"
         "    w = torch.ones(input.shape[-1], dtype=input.dtype) if weight is None else weight\n"
         "    l = l.sum(dim=-1) / w.sum()  # divides by the weights, not by C\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "wrong"),
        ("def multilabel_soft_margin_loss(input, target, weight=None, reduction='mean'):\n"
         "    l = torch.nn.functional.binary_cross_entropy_with_logits(input, target, weight, reduction='none')\n"
         "    l = l.mean(dim=-1)\n"
         "    return {'none': l, 'sum': l.sum(), 'mean': l.mean()}[reduction]\n",
         "forbidden"),
    ],
    "cross_entropy_backward": [
        ("def cross_entropy_backward(grad_output, input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):\n"
         "    p = torch.exp(input - input.amax(dim=1, keepdim=True))\n    p = p / p.sum(dim=1, keepdim=True)\n"
         "    onehot = torch.zeros_like(p).scatter_(1, target.clamp(min=0).unsqueeze(1), 1.0)\n"
         "    return (p - onehot) * grad_output / input.shape[0]  # lesson 08b's 2-D case only: no weight, ignore_index, smoothing\n", "wrong"),
        ("def cross_entropy_backward(grad_output, input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):\n"
         "    x = input.detach().requires_grad_()\n    loss = cross_entropy(x, target, weight, ignore_index, reduction, label_smoothing)\n"
         "    (g,) = torch.autograd.grad(loss, x, grad_output)  # autograd does the work\n    return g\n", "forbidden")],
    "binary_cross_entropy_with_logits_backward": [
        ("def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None, reduction='mean', pos_weight=None):\n"
         "    e = torch.exp(-input.abs())\n    sig = torch.where(input >= 0, 1 / (1 + e), e / (1 + e))\n"
         "    g = sig - target  # pos_weight and weight forgotten\n    return (g / input.numel() if reduction == 'mean' else g) * grad_output\n", "wrong"),
        ("def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None, reduction='mean', pos_weight=None):\n"
         "    pw = 1 if pos_weight is None else pos_weight\n    g = (1 + (pw - 1) * target) * torch.sigmoid(input) - pw * target  # torch.sigmoid\n"
         "    g = g if weight is None else g * weight\n    return (g / input.numel() if reduction == 'mean' else g) * grad_output\n", "forbidden")],
}
