"""Wrong answers for a06 (each a whole solution cell) and the status each must get.

The classic mistakes: dividing by the batch size instead of the number of elements, ignoring an option, the
Stirling term everywhere, an ordinary clamp that blocks the variance gradient, and torch's own loss under another name.
"""

WRONG = {
    "l1_loss": [
        ("def l1_loss(input, target, reduction='mean', weight=None):\n"
         "    loss = (input - target).abs()\n"
         "    if reduction == 'none':\n        return loss\n"
         "    n = input.shape[0] if input.ndim else 1\n"
         "    return loss.sum() / n if reduction == 'mean' else loss.sum()  # batch size, not N\n", "wrong"),
        ("def l1_loss(input, target, reduction='mean', weight=None):\n"
         "    loss = (input - target).abs()  # weight ignored\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def l1_loss(input, target, reduction='mean', weight=None):\n"
         "    f = getattr(torch.nn.functional, 'l1' + '_loss')\n"
         "    return f(input, target, reduction=reduction, weight=weight)  # torch's own\n", "forbidden"),
    ],
    "mse_loss": [
        ("def mse_loss(input, target, reduction='mean', weight=None):\n"
         "    loss = (input - target) ** 2\n"
         "    if weight is not None:\n        loss = loss * weight\n"
         "    out = {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n"
         "    return out  # weighted 'mean' divided by N, not by sum(weight)\n", "wrong"),
        ("def mse_loss(input, target, reduction='mean', weight=None):\n"
         "    return torch.nn.MSELoss(reduction=reduction)(input, target)  # the module calls F.mse_loss\n", "forbidden"),
    ],
    "huber_loss": [
        ("def huber_loss(input, target, reduction='mean', delta=1.0, weight=None):\n"
         "    d = input - target\n    a = d.abs()\n"
         "    loss = torch.where(a < delta, 0.5 * d * d, a - 0.5 * delta)  # linear piece lacks the factor delta\n"
         "    if weight is not None:\n        loss = loss * weight\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def huber_loss(input, target, reduction='mean', delta=1.0, weight=None):\n"
         "    d = input - target\n    a = d.abs()\n"
         "    loss = torch.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))\n"
         "    if weight is not None:\n        loss = loss * weight\n"
         "        if reduction == 'mean':\n            return loss.sum() / weight.sum()  # torch takes the plain mean\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def huber_loss(input, target, reduction='mean', delta=1.0, weight=None):\n"
         "    return delta * torch.nn.functional.smooth_l1_loss(input, target, reduction=reduction, beta=delta)\n",
         "forbidden"),
    ],
    "smooth_l1_loss": [
        ("def smooth_l1_loss(input, target, reduction='mean', beta=1.0):\n"
         "    d = input - target\n    a = d.abs()\n"
         "    loss = torch.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)  # beta=0: 0/0 = nan\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def smooth_l1_loss(input, target, reduction='mean', beta=1.0):\n"
         "    d = input - target\n    a = d.abs()\n"
         "    loss = torch.where(a < 1, 0.5 * d * d, a - 0.5)  # beta ignored\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def smooth_l1_loss(input, target, reduction='mean', beta=1.0):\n"
         "    return torch.nn.functional.huber_loss(input, target, reduction=reduction, delta=beta) / beta\n",
         "forbidden"),
    ],
    "poisson_nll_loss": [
        ("def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-08, reduction='mean'):\n"
         "    loss = torch.exp(input) - target * input if log_input else input - target * torch.log(input + eps)\n"
         "    if full:  # Stirling everywhere: nan at y = 0, wrong at y = 1\n"
         "        loss = loss + target * torch.log(target) - target + 0.5 * torch.log(2 * math.pi * target)\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-08, reduction='mean'):\n"
         "    loss = torch.exp(input) - target * input if log_input else input - target * torch.log(input)  # no eps\n"
         "    if full:\n"
         "        safe = torch.where(target > 1, target, torch.ones_like(target))\n"
         "        s = safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe)\n"
         "        loss = loss + torch.where(target > 1, s, torch.zeros_like(s))\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-08, reduction='mean'):\n"
         "    return torch.nn.PoissonNLLLoss(log_input, full, eps=eps, reduction=reduction)(input, target)\n",
         "forbidden"),
    ],
    "gaussian_nll_loss": [
        ("def gaussian_nll_loss(input, target, var, full=False, eps=1e-06, reduction='mean'):\n"
         "    if isinstance(var, float):\n        var = var * torch.ones_like(input)\n"
         "    if var.ndim == input.ndim - 1 and var.shape != input.shape:\n        var = var.unsqueeze(-1)\n"
         "    var = var.clamp(min=eps)  # zero gradient where clamped\n"
         "    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)\n"
         "    if full:\n        loss = loss + 0.5 * math.log(2 * math.pi)\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def gaussian_nll_loss(input, target, var, full=False, eps=1e-06, reduction='mean'):\n"
         "    if isinstance(var, float):\n        var = var * torch.ones_like(input)\n"
         "    var = var - var.detach() + var.detach().clamp(min=eps)  # (3,) var broadcast against the last dim\n"
         "    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)\n"
         "    if full:\n        loss = loss + math.log(2 * math.pi)  # the 1/2 forgotten\n"
         "    return {'none': loss, 'mean': loss.mean(), 'sum': loss.sum()}[reduction]\n", "wrong"),
        ("def gaussian_nll_loss(input, target, var, full=False, eps=1e-06, reduction='mean'):\n"
         "    return torch.nn.functional.gaussian_nll_loss(input, target, var, full, eps, reduction)\n", "forbidden"),
    ],
    "gaussian_nll_loss_backward": [
        ("def gaussian_nll_loss_backward(grad_output, input, target, var, full=False, eps=1e-06, reduction='mean'):\n"
         "    v = var.unsqueeze(-1) if var.shape != input.shape and var.shape == input.shape[:-1] else var\n"
         "    v = v.clamp(min=eps)\n    d = input - target\n"
         "    g = grad_output / input.numel() if reduction == 'mean' else grad_output\n"
         "    return g * d / v, (g * 0.5 * (1 / v - d * d / v ** 2))  # var's gradient not summed back to var's shape\n", "wrong"),
        ("def gaussian_nll_loss_backward(grad_output, input, target, var, full=False, eps=1e-06, reduction='mean'):\n"
         "    x, v = input.detach().requires_grad_(), var.detach().requires_grad_()\n"
         "    loss = gaussian_nll_loss(x, target, v, full, eps, reduction)\n"
         "    return torch.autograd.grad(loss, (x, v), grad_output)  # autograd does it\n", "forbidden"),
    ],
}
