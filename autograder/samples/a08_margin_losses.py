"""Wrong answers for a08 (each a whole solution cell) and the status each must get.

The classic mistakes: 'mean' over the batch instead of every element, a wrong default margin, weight[i] instead of
weight[y], dividing by C - 1, reading targets past the first -1, eps on the norm instead of the difference, a forgotten
swap, and torch's own loss or distance under another name.
"""

_RED = ("    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n")

WRONG = {
    "hinge_embedding_loss": [
        ("def hinge_embedding_loss(input, target, margin=1.0, reduction='mean'):\n"
         "    loss = torch.where(target == 1, input, (margin - input).clamp(min=0))  # label 0 taken as -1\n" + _RED,
         "wrong"),
        ("def hinge_embedding_loss(input, target, margin=1.0, reduction='mean'):\n"
         "    zeros = torch.zeros_like(input)\n"
         "    loss = torch.where(target != 1, (margin - input).clamp(min=0), zeros) + torch.where(target != -1, input, zeros)\n"
         "    if reduction == 'mean':\n"
         "        return loss.sum() / (input.shape[0] if input.dim() else 1)  # batch size, not N\n"
         "    return loss if reduction == 'none' else loss.sum()\n", "wrong"),
        ("def hinge_embedding_loss(input, target, margin=1.0, reduction='mean'):\n"
         "    return torch.nn.HingeEmbeddingLoss(margin, reduction=reduction)(input, target)  # torch's own\n",
         "forbidden"),
    ],
    "margin_ranking_loss": [
        ("def margin_ranking_loss(input1, input2, target, margin=1.0, reduction='mean'):\n"
         "    loss = (-target * (input1 - input2) + margin).clamp(min=0)  # default margin 1, not 0\n" + _RED, "wrong"),
        ("def margin_ranking_loss(input1, input2, target, margin=0, reduction='mean'):\n"
         "    loss = (target * (input1 - input2) + margin).clamp(min=0)  # sign of y flipped\n" + _RED, "wrong"),
        ("def margin_ranking_loss(input1, input2, target, margin=0, reduction='mean'):\n"
         "    f = getattr(torch.nn.functional, 'margin_' + 'ranking_loss')\n"
         "    return f(input1, input2, target, margin=margin, reduction=reduction)\n", "forbidden"),
    ],
    "multi_margin_loss": [
        ("def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction='mean'):\n"
         "    x = input.reshape(-1, input.shape[-1]); y = target.reshape(-1); C = x.shape[1]\n"
         "    z = (margin - x.gather(1, y[:, None]) + x).clamp(min=0) ** p\n"
         "    if weight is not None:\n        z = z * weight  # weight[i], not weight[y]\n"
         "    loss = (z.sum(1) - margin ** p * (weight[y] if weight is not None else 1)) / C\n"
         "    loss = loss.reshape(target.shape)\n" + _RED, "wrong"),
        ("def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction='mean'):\n"
         "    x = input.reshape(-1, input.shape[-1]); y = target.reshape(-1); C = x.shape[1]\n"
         "    z = (margin - x.gather(1, y[:, None]) + x).clamp(min=0)\n"
         "    z = torch.where(torch.arange(C)[None] != y[:, None], z, torch.zeros_like(z)) ** p\n"
         "    if weight is not None:\n        z = z * weight[y][:, None]\n"
         "    loss = (z.sum(1) / (C - 1)).reshape(target.shape)  # C - 1 instead of C\n" + _RED, "wrong"),
        ("def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction='mean'):\n"
         "    return torch.nn.MultiMarginLoss(p, margin, weight, reduction=reduction)(input, target)\n", "forbidden"),
    ],
    "multilabel_margin_loss": [
        ("def multilabel_margin_loss(input, target, reduction='mean'):\n"
         "    C = input.shape[-1]; x = input.reshape(-1, C); y = target.reshape(-1, C)\n"
         "    valid = y >= 0  # every non-negative index counts, even after the first -1\n"
         "    idx = y.clamp(min=0)\n"
         "    is_t = ((idx[:, :, None] == torch.arange(C)) & valid[:, :, None]).any(1)\n"
         "    z = (1 - x.gather(1, idx)[:, :, None] + x[:, None, :]).clamp(min=0)\n"
         "    loss = (z * (valid[:, :, None] & ~is_t[:, None, :])).sum((1, 2)) / C\n"
         "    loss = loss.reshape(input.shape[:-1])\n" + _RED, "wrong"),
        ("def multilabel_margin_loss(input, target, reduction='mean'):\n"
         "    m = torch.nn.MultiLabelMarginLoss(reduction=reduction)\n    return m(input, target)\n", "forbidden"),
    ],
    "cosine_embedding_loss_backward": [
        ("def cosine_embedding_loss_backward(grad_output, input1, input2, target, margin=0, reduction='mean'):\n"
         "    a = (input1 * input1).sum(-1, keepdim=True) + 1e-12\n    b = (input2 * input2).sum(-1, keepdim=True) + 1e-12\n"
         "    cos = (input1 * input2).sum(-1, keepdim=True) / torch.sqrt(a * b)\n"
         "    s = torch.where(target.unsqueeze(-1) == 1, -1.0, 1.0) * grad_output  # every y = -1 counted, margin ignored\n"
         "    s = s.unsqueeze(-1) if reduction == 'none' else s / max(target.numel(), 1) if reduction == 'mean' else s\n"
         "    return s * (input2 / torch.sqrt(a * b) - cos * input1 / a), s * (input1 / torch.sqrt(a * b) - cos * input2 / b)\n", "wrong"),
        ("def cosine_embedding_loss_backward(grad_output, input1, input2, target, margin=0, reduction='mean'):\n"
         "    a, b = input1.detach().requires_grad_(), input2.detach().requires_grad_()\n"
         "    loss = cosine_embedding_loss(a, b, target, margin, reduction)\n"
         "    return torch.autograd.grad(loss, (a, b), grad_output)  # autograd does it\n", "forbidden"),
    ],
    "triplet_margin_loss": [
        ("def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction='mean'):\n"
         "    d = lambda x, y: ((x - y).abs() ** p).sum(-1) ** (1 / p) + eps  # eps on the norm, not the difference\n"
         "    dn = d(anchor, negative)\n"
         "    if swap:\n        dn = torch.minimum(dn, d(positive, negative))\n"
         "    loss = (margin + d(anchor, positive) - dn).clamp(min=0)\n" + _RED, "wrong"),
        ("def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction='mean'):\n"
         "    d = lambda x, y: ((x - y + eps).abs() ** p).sum(-1) ** (1 / p)\n"
         "    loss = (margin + d(anchor, positive) - d(anchor, negative)).clamp(min=0)  # swap ignored\n" + _RED, "wrong"),
        ("def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction='mean'):\n"
         "    d = lambda x, y: (x - y + eps).norm(p=p, dim=-1)  # a ready-made norm\n"
         "    dn = d(anchor, negative)\n"
         "    if swap:\n        dn = torch.minimum(dn, d(positive, negative))\n"
         "    loss = (margin + d(anchor, positive) - dn).clamp(min=0)\n" + _RED, "forbidden"),
        ("def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction='mean'):\n"
         "    return torch.nn.TripletMarginLoss(margin, p, eps, swap, reduction=reduction)(anchor, positive, negative)\n",
         "forbidden"),
    ],
    "triplet_margin_with_distance_loss": [
        ("def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,\n"
         "                                      swap=False, reduction='mean'):\n"
         "    d = distance_function or (lambda x, y: ((x - y) ** 2).sum(-1))  # squared distance, no sqrt, no eps\n"
         "    dn = d(anchor, negative)\n"
         "    if swap:\n        dn = torch.minimum(dn, d(positive, negative))\n"
         "    loss = (margin + d(anchor, positive) - dn).clamp(min=0)\n" + _RED, "wrong"),
        ("def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,\n"
         "                                      swap=False, reduction='mean'):\n"
         "    return triplet_margin_loss(anchor, positive, negative, margin=margin, reduction=reduction)  # swap dropped\n",
         "wrong"),
        ("def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,\n"
         "                                      swap=False, reduction='mean'):\n"
         "    d = distance_function or torch.nn.PairwiseDistance()\n"
         "    dn = d(anchor, negative)\n"
         "    if swap:\n        dn = torch.minimum(dn, d(positive, negative))\n"
         "    loss = (margin + d(anchor, positive) - dn).clamp(min=0)\n" + _RED, "forbidden"),
    ],
    "batch_hard_triplet_loss": [
        ("def batch_hard_triplet_loss(embeddings, labels, margin=1.0, p=2, eps=1e-06, reduction='mean'):\n"
         "    dist = (((embeddings[:, None] - embeddings[None] + eps).abs() ** p).sum(-1)) ** (1.0 / p)\n"
         "    same = labels[:, None] == labels[None]\n"
         "    d_ap = torch.where(same, dist, -math.inf).amax(1)  # the anchor itself counts as its own positive\n"
         "    d_an = torch.where(~same, dist, math.inf).amin(1)\n"
         "    loss = torch.clamp(d_ap - d_an + margin, min=0)\n"
         "    return {'none': loss, 'sum': loss.sum(), 'mean': loss.mean()}[reduction]  # invalid anchors kept\n", "wrong"),
        ("def batch_hard_triplet_loss(embeddings, labels, margin=1.0, p=2, eps=1e-06, reduction='mean'):\n"
         "    dist = torch.cdist(embeddings, embeddings, p=p)  # a ready-made distance\n"
         "    same = labels[:, None] == labels[None]\n"
         "    pos = same & ~torch.eye(len(labels), dtype=torch.bool)\n"
         "    valid = pos.any(1) & (~same).any(1)\n"
         "    gap = torch.where(pos, dist, -math.inf).amax(1) - torch.where(~same, dist, math.inf).amin(1) + margin\n"
         "    loss = torch.clamp(torch.where(valid, gap, 0.0), min=0)\n"
         "    return {'none': loss, 'sum': loss.sum(), 'mean': loss.sum() / valid.sum()}[reduction]\n", "forbidden"),
    ],
}
