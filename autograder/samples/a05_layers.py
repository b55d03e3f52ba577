"""Wrong answers for a05 (each a whole solution cell) and the status each must get.

The classic mistakes: the unbiased variance where the biased one belongs,
ignoring training mode, detached statistics, 0 * inf at p=1, eps in the wrong place, the
documented (not the actual) clamp of cosine similarity, sqrt at 0 in the gradient, and torch's
own function under another name.
"""

_BN = "def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05):\n"
_LN = "def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):\n"
_DROP = "def dropout(input, p=0.5, training=True, inplace=False):\n"
_PD = "def pairwise_distance(x1, x2, p=2.0, eps=1e-06, keepdim=False):\n"
_COS = "def cosine_similarity(x1, x2, dim=1, eps=1e-08):\n"

WRONG = {
    "linear": [
        ("def linear(input, weight, bias=None):\n    out = input @ weight  # W, not W^T\n"
         "    return out if bias is None else out + bias\n", "wrong"),
        ("def linear(input, weight, bias=None):\n    f = torch.nn.functional.linear\n    return f(input, weight, bias)  # torch's own\n",
         "forbidden"),
    ],
    "batch_norm": [
        (_BN + "    dims = [0] + list(range(2, input.ndim))\n    shape = [1, -1] + [1] * (input.ndim - 2)\n"
         "    if training:\n        mean = input.mean(dim=dims, keepdim=True)\n"
         "        var = input.var(dim=dims, keepdim=True)  # unbiased: divides by n - 1\n"
         "    else:\n        mean, var = running_mean.reshape(shape), running_var.reshape(shape)\n"
         "    out = (input - mean) / torch.sqrt(var + eps)\n"
         "    if weight is not None:\n        out = out * weight.reshape(shape)\n"
         "    if bias is not None:\n        out = out + bias.reshape(shape)\n    return out\n", "wrong"),
        (_BN + "    dims = [0] + list(range(2, input.ndim))\n    shape = [1, -1] + [1] * (input.ndim - 2)\n"
         "    mean = input.mean(dim=dims, keepdim=True)  # batch statistics even in evaluation mode\n"
         "    var = ((input - mean) ** 2).mean(dim=dims, keepdim=True)\n"
         "    out = (input - mean) / torch.sqrt(var + eps)\n"
         "    if weight is not None:\n        out = out * weight.reshape(shape)\n"
         "    if bias is not None:\n        out = out + bias.reshape(shape)\n    return out\n", "wrong"),
        (_BN + "    dims = [0] + list(range(2, input.ndim))\n    shape = [1, -1] + [1] * (input.ndim - 2)\n"
         "    if training:\n        x = input.detach()  # statistics cut from the graph: wrong gradient\n"
         "        mean = x.mean(dim=dims, keepdim=True)\n        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)\n"
         "    else:\n        mean, var = running_mean.reshape(shape), running_var.reshape(shape)\n"
         "    out = (input - mean) / torch.sqrt(var + eps)\n"
         "    if weight is not None:\n        out = out * weight.reshape(shape)\n"
         "    if bias is not None:\n        out = out + bias.reshape(shape)\n    return out\n", "wrong"),
        (_BN + "    return torch.batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, False)\n",
         "forbidden"),
        ("_key_batch_norm = batch_norm\n\n\n" + _BN + "    if input.numel() == 0:\n"
         "        raise ValueError('empty batch')  # torch returns an empty result here\n"
         "    return _key_batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)\n", "wrong"),
    ],
    "layer_norm": [
        (_LN + "    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)\n    dims = tuple(range(-k, 0))\n"
         "    out = (input - input.mean(dim=dims, keepdim=True)) / torch.sqrt(input.var(dim=dims, keepdim=True) + eps)  # unbiased\n"
         "    if weight is not None:\n        out = out * weight\n    if bias is not None:\n        out = out + bias\n    return out\n",
         "wrong"),
        (_LN + "    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)\n    dims = tuple(range(-k, 0))\n"
         "    mean = input.mean(dim=dims, keepdim=True)\n    std = torch.sqrt(((input - mean) ** 2).mean(dim=dims, keepdim=True))\n"
         "    out = (input - mean) / (std + eps)  # eps outside the root: nan-free but not torch's formula\n"
         "    if weight is not None:\n        out = out * weight\n    if bias is not None:\n        out = out + bias\n    return out\n",
         "wrong"),
        (_LN + "    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)\n"
         "    return torch.layer_norm(input, shape, weight, bias, eps)  # torch's own\n", "forbidden"),
    ],
    "dropout": [
        (_DROP + "    if not training:\n        return input\n"
         "    keep = (torch.rand_like(input) >= p).to(input.dtype)\n"
         "    return input * keep / (1 - p)  # p=1: 0 * inf = nan; p=0 fine; inplace ignored\n", "wrong"),
        (_DROP + "    keep = torch.empty_like(input).bernoulli_(1 - p)  # ignores training=False\n"
         "    return input * keep / (1 - p) if p < 1 else input * 0\n", "wrong"),
        (_DROP + "    import torch.nn.functional as nnf\n    return nnf.dropout(input, p, training, inplace)  # torch's own\n",
         "forbidden"),
        # right in every deterministic case, and the kept fraction is exact: only two draws show it is not random
        (_DROP + "    if not training or p == 0 or input.numel() == 0:\n        return input\n"
         "    if p == 1:\n        out = input * 0\n    else:\n"
         "        keep = torch.zeros(input.numel(), dtype=input.dtype, device=input.device)\n"
         "        keep[:round((1 - p) * input.numel())] = 1  # the first (1 - p) n elements: a fixed mask\n"
         "        out = input * keep.reshape(input.shape) / (1 - p)\n"
         "    return input.copy_(out) if inplace else out\n", "wrong"),
        (_DROP + "    if not training or p == 0 or input.numel() == 0:\n        return input\n"
         "    if p == 1:\n        out = input * 0\n    else:\n"
         "        g = torch.Generator(device=input.device).manual_seed(0)  # the same mask every call\n"
         "        keep = torch.rand(input.shape, generator=g, device=input.device) >= p\n"
         "        out = input * keep.to(input.dtype) / (1 - p)\n"
         "    return input.copy_(out) if inplace else out\n", "wrong"),
    ],
    "pairwise_distance": [
        (_PD + "    d = (x1 - x2).abs()\n    return (d ** p).sum(dim=-1, keepdim=keepdim) ** (1 / p) + eps  # eps on the result\n",
         "wrong"),
        (_PD + "    d = (x1 - x2 + eps).abs()\n    dim = max(x1.ndim, x2.ndim) - 1\n"
         "    if p == math.inf:\n        return d.amax(dim=dim, keepdim=keepdim)\n"
         "    if p == -math.inf:\n        return d.amin(dim=dim, keepdim=keepdim)\n"
         "    if p == 0:\n        return (d != 0).to(d.dtype).sum(dim=dim, keepdim=keepdim)\n"
         "    return (d ** p).sum(dim=dim, keepdim=keepdim) ** (1 / p)  # nan gradient where the distance is 0\n", "wrong"),
        (_PD + "    return torch.pairwise_distance(x1, x2, p, eps, keepdim)\n", "forbidden"),
    ],
    "cosine_similarity": [
        (_COS + "    x1, x2 = torch.broadcast_tensors(x1, x2)\n"
         "    n1 = torch.sqrt((x1 * x1).sum(dim=dim))\n    n2 = torch.sqrt((x2 * x2).sum(dim=dim))\n"
         "    return (x1 * x2).sum(dim=dim) / torch.clamp(n1 * n2, min=eps)  # the documented formula, not torch's\n", "wrong"),
        (_COS + "    x1, x2 = torch.broadcast_tensors(x1, x2)\n"
         "    n1 = torch.sqrt((x1 * x1).sum(dim=dim)).clamp_min(eps)  # sqrt at 0: nan gradient for a zero vector\n"
         "    n2 = torch.sqrt((x2 * x2).sum(dim=dim)).clamp_min(eps)\n"
         "    return (x1 * x2).sum(dim=dim) / (n1 * n2)\n", "wrong"),
        (_COS + "    return torch.nn.CosineSimilarity(dim=dim, eps=eps)(x1, x2)  # torch's own module\n", "forbidden"),
    ],
    "batch_norm_backward": [
        ("def batch_norm_backward(grad_output, input, weight=None, eps=1e-05):\n"
         "    dims = [0] + list(range(2, input.ndim))\n    shape = [1, -1] + [1] * (input.ndim - 2)\n"
         "    gamma = torch.ones(input.shape[1], dtype=input.dtype) if weight is None else weight\n"
         "    mean = input.mean(dim=dims, keepdim=True)\n    inv_std = 1 / torch.sqrt(((input - mean) ** 2).mean(dim=dims, keepdim=True) + eps)\n"
         "    x_hat = (input - mean) * inv_std\n"
         "    grad_input = gamma.reshape(shape) * inv_std * grad_output  # mean and variance treated as constants\n"
         "    return grad_input, (grad_output * x_hat).sum(dim=dims), grad_output.sum(dim=dims)\n", "wrong"),
        ("def batch_norm_backward(grad_output, input, weight=None, eps=1e-05):\n"
         "    C = input.shape[1]\n    x = input.detach().requires_grad_()\n"
         "    w = (torch.ones(C, dtype=input.dtype) if weight is None else weight.detach()).requires_grad_()\n"
         "    b = torch.zeros(C, dtype=input.dtype).requires_grad_()\n"
         "    y = batch_norm(x, None, None, w, b, training=True, eps=eps)  # the forward, then autograd\n"
         "    return torch.autograd.grad(y, (x, w, b), grad_output)\n", "forbidden"),
    ],
}
