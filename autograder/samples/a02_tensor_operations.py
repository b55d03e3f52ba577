"""Wrong answers for a02 (each a whole solution cell) and the status each must get.

Every problem has variants that fail on the CPU. Variants that hard-code a device pass on a
CPU-only machine and are caught only on CUDA, so they are added only where CUDA is present.
"""
import torch

WRONG = {
    "broadcast_shape": [
        ("def broadcast_shape(a, b):\n    return tuple((a + b).shape)  # computes with the tensors; raises when incompatible\n", "forbidden"),
        ("def broadcast_shape(a, b):\n    return tuple(torch.broadcast_tensors(a, b)[0].shape)\n", "forbidden"),
        ("def broadcast_shape(a, b):\n"
         "    n = max(a.ndim, b.ndim)\n"
         "    sa = (1,) * (n - a.ndim) + tuple(a.shape)\n"
         "    sb = (1,) * (n - b.ndim) + tuple(b.shape)\n"
         "    return tuple(max(p, q) for p, q in zip(sa, sb))  # never None; 0 vs 1 gives 1\n", "wrong"),
        ("def broadcast_shape(a, b):\n"
         "    sa, sb = tuple(a.shape), tuple(b.shape)\n"
         "    n = max(len(sa), len(sb))\n"
         "    sa, sb = sa + (1,) * (n - len(sa)), sb + (1,) * (n - len(sb))  # pads on the right\n"
         "    out = []\n"
         "    for p, q in zip(sa, sb):\n"
         "        if p != q and 1 not in (p, q):\n"
         "            return None\n"
         "        out.append(q if p == 1 else p)\n"
         "    return tuple(out)\n", "wrong"),
        ("def broadcast_shape(a, b):\n"
         "    n = max(a.ndim, b.ndim)\n"
         "    sa = (1,) * (n - a.ndim) + tuple(a.shape)\n"
         "    sb = (1,) * (n - b.ndim) + tuple(b.shape)\n"
         "    out = []\n"
         "    for p, q in zip(sa, sb):\n"
         "        if p != q and 1 not in (p, q):\n"
         "            return None\n"
         "        out.append(q if p == 1 else p)\n"
         "    return torch.Size(out)  # a torch.Size, not a tuple\n", "wrong"),
    ],
    "pairwise_sq_dists": [
        ("def pairwise_sq_dists(x, y):\n    return torch.cdist(x, y) ** 2\n", "forbidden"),
        ("def pairwise_sq_dists(x, y):\n    return ((x[:, None] - y[None]) ** 2).sum(-1).sqrt()  # distances, not squared\n", "wrong"),
        ("def pairwise_sq_dists(x, y):\n    return ((x - y) ** 2).sum(-1)  # no new dims: N differences\n", "wrong"),
        ("def pairwise_sq_dists(x, y):\n    return ((x[None] - y[:, None]) ** 2).sum(-1)  # (M, N): swapped\n", "wrong"),
    ],
    "batched_matmul": [
        ("def batched_matmul(a, b):\n    return a @ b  # bmm inside\n", "forbidden"),
        ("def batched_matmul(a, b):\n    return torch.einsum('bnk,bkm->bnm', a, b)\n", "forbidden"),
        ("def batched_matmul(a, b):\n    return torch.stack([a[i] @ b[i] for i in range(a.shape[0])])  # fails on an empty batch\n", "wrong"),
        ("def batched_matmul(a, b):\n    return torch.stack([a[i] * b[i] for i in range(a.shape[0])])  # element-wise, not matmul\n", "wrong"),
    ],
    "masked_mean": [
        ("def masked_mean(x, mask, dim, keepdim=False):\n"
         "    return (x * mask).sum(dim, keepdim=keepdim) / mask.sum(dim, keepdim=keepdim).clamp(min=1)  # nan * 0\n", "wrong"),
        ("def masked_mean(x, mask, dim, keepdim=False):\n"
         "    return torch.where(mask, x, torch.zeros_like(x)).mean(dim, keepdim=keepdim)  # divides by the length\n", "wrong"),
        ("def masked_mean(x, mask, dim, keepdim=False):\n"
         "    return torch.where(mask, x, torch.zeros_like(x)).sum(dim, keepdim=keepdim) / mask.sum(dim, keepdim=keepdim)  # 0/0\n", "wrong"),
        ("def masked_mean(x, mask, dim, keepdim=False):\n"
         "    total = torch.where(mask, x, torch.zeros_like(x)).sum(dim)\n"
         "    return total / mask.sum(dim).clamp(min=1)  # ignores keepdim\n", "wrong"),
        ("def masked_mean(x, mask, dim, keepdim=False):\n"
         "    out = torch.where(mask, x, torch.nan).nanmean(dim, keepdim=keepdim)\n"
         "    return torch.nan_to_num(out)\n", "forbidden"),
    ],
    "topk_indices": [
        ("def topk_indices(x, k):\n    return torch.topk(x, k).indices\n", "forbidden"),
        ("def topk_indices(x, k):\n    return x.argsort(dim=-1, descending=True, stable=True)[..., :k]\n", "forbidden"),
        ("def topk_indices(x, k):\n"
         "    x = x.clone()\n"
         "    out = []\n"
         "    for _ in range(k):\n"
         "        i = x.argmax(dim=-1, keepdim=True)\n"
         "        out.append(i)\n"
         "        x.scatter_(-1, i, float('-inf'))  # no -inf in an integer tensor\n"
         "    return torch.cat(out, dim=-1) if out else torch.zeros(x.shape[:-1] + (0,), dtype=torch.long, device=x.device)\n", "wrong"),
        ("def topk_indices(x, k):\n"
         "    n = x.shape[-1]\n"
         "    rank = (x.unsqueeze(-2) >= x.unsqueeze(-1)).sum(-1) - 1  # ties share a rank\n"
         "    at = rank.unsqueeze(-1) == torch.arange(k, device=x.device)\n"
         "    return (at * torch.arange(n, device=x.device).unsqueeze(-1)).sum(-2)\n", "wrong"),
        ("def topk_indices(x, k):\n"
         "    n = x.shape[-1]\n"
         "    pos = torch.arange(n, device=x.device)\n"
         "    beats = (x.unsqueeze(-2) > x.unsqueeze(-1)) | ((x.unsqueeze(-2) == x.unsqueeze(-1)) & (pos > pos.unsqueeze(-1)))\n"
         "    at = beats.sum(-1).unsqueeze(-1) == torch.arange(k, device=x.device)\n"
         "    return (at * pos.unsqueeze(-1)).sum(-2)  # ties: larger index first\n", "wrong"),
    ],
    "interleave": [
        ("def interleave(a, b):\n    return torch.cat((a, b))  # a's rows, then b's\n", "wrong"),
        ("def interleave(a, b):\n    return torch.stack((a, b), dim=-1).reshape((2 * a.shape[0],) + tuple(a.shape[1:]))  # elements, not rows\n", "wrong"),
        ("def interleave(a, b):\n    return torch.stack((a, b), dim=1).view(-1)  # flattens everything\n", "wrong"),
    ],
    "gather_rows": [
        ("def gather_rows(x, index):\n    return x.gather(1, index)\n", "forbidden"),
        ("def gather_rows(x, index):\n    return torch.take_along_dim(x, index, dim=1)\n", "forbidden"),
        ("def gather_rows(x, index):\n    return x[torch.arange(x.shape[0], device=x.device), index]  # (N,) pairs with the last dim\n", "wrong"),
        ("def gather_rows(x, index):\n    return x[:, index]  # (N, N, m)\n", "wrong"),
    ],
    "one_hot_encode": [
        ("def one_hot_encode(labels, num_classes=-1):\n    return torch.nn.functional.one_hot(labels, num_classes)\n", "forbidden"),
        ("def one_hot_encode(labels, num_classes=-1):\n"
         "    if num_classes == -1:\n"
         "        num_classes = int(labels.max()) + 1\n"
         "    return (labels.unsqueeze(-1) == torch.arange(num_classes, device=labels.device)).float()  # float32\n", "wrong"),
        ("def one_hot_encode(labels, num_classes=-1):\n"
         "    c = int(labels.max()) + 1  # ignores num_classes\n"
         "    return (labels.unsqueeze(-1) == torch.arange(c, device=labels.device)).long()\n", "wrong"),
        ("def one_hot_encode(labels, num_classes=-1):\n"
         "    if num_classes == -1:\n"
         "        num_classes = int(labels.max()) + 1\n"
         "    out = torch.zeros(len(labels), num_classes, dtype=torch.long, device=labels.device)\n"
         "    out[torch.arange(len(labels), device=labels.device), labels] = 1  # 1-D labels only\n"
         "    return out\n", "wrong"),
    ],
    "add_array": [
        ("def add_array(x, array):\n    return x + torch.from_numpy(array).to(x.device)  # dtype promoted\n", "wrong"),
        ("def add_array(x, array):\n    return (x.detach() + torch.as_tensor(array, dtype=x.dtype, device=x.device))  # cuts the graph\n", "wrong"),
        ("def add_array(x, array):\n    return x.double() + torch.as_tensor(array, dtype=torch.float64, device=x.device)  # always float64\n", "wrong"),
    ],
}

if torch.cuda.is_available():  # hard-coded devices: correct on CPU, caught on CUDA
    WRONG["pairwise_sq_dists"].append(
        ("def pairwise_sq_dists(x, y):\n    return ((x.cpu()[:, None] - y.cpu()[None]) ** 2).sum(-1)\n", "wrong"))
    WRONG["batched_matmul"].append(
        ("def batched_matmul(a, b):\n"
         "    if a.shape[0] == 0:\n"
         "        return torch.zeros(0, a.shape[1], b.shape[2], dtype=a.dtype)  # on the CPU\n"
         "    return torch.stack([a[i] @ b[i] for i in range(a.shape[0])])\n", "wrong"))
    WRONG["masked_mean"].append(
        ("def masked_mean(x, mask, dim, keepdim=False):\n"
         "    total = torch.where(mask, x, torch.zeros(x.shape, dtype=x.dtype)).sum(dim, keepdim=keepdim)  # CPU zeros\n"
         "    return total / mask.sum(dim, keepdim=keepdim).clamp(min=1)\n", "wrong"))
    WRONG["topk_indices"].append(
        ("def topk_indices(x, k):\n"
         "    n = x.shape[-1]\n"
         "    pos = torch.arange(n)  # on the CPU\n"
         "    beats = (x.unsqueeze(-2) > x.unsqueeze(-1)) | ((x.unsqueeze(-2) == x.unsqueeze(-1)) & (pos < pos.unsqueeze(-1)))\n"
         "    at = beats.sum(-1).unsqueeze(-1) == torch.arange(k)\n"
         "    return (at * pos.unsqueeze(-1)).sum(-2)\n", "wrong"))
    WRONG["one_hot_encode"].append(
        ("def one_hot_encode(labels, num_classes=-1):\n"
         "    if num_classes == -1:\n"
         "        num_classes = int(labels.max()) + 1\n"
         "    return (labels.unsqueeze(-1).cpu() == torch.arange(num_classes)).long()  # on the CPU\n", "wrong"))
    WRONG["add_array"].append(
        ("def add_array(x, array):\n    return x + torch.tensor(array, dtype=x.dtype)  # CPU tensor + CUDA tensor\n", "wrong"))
