"""Wrong answers for a10 (each a whole solution cell) and the status each must get.

Most variants are the answer key's own solution cell (read from the master notebook) with one classic mistake put in:
momentum applied before the weight decay, a damped first buffer, Nesterov from the old buffer, maximize negating the
decay too, a frozen parameter still decayed; Adam without bias correction, with the step count increased too late,
eps inside the square root, decoupled decay without the learning rate; a clamped cosine, unsorted or repeated
milestones, a linear factor that never stops; a scheduler stepped per batch, the state reset every epoch, the last
batch dropped, the loss taken after the update, gradients never zeroed. And torch.optim itself (the optimizers,
Adam's functional form, an lr_scheduler driven by optimizer.step()), which is forbidden.
"""
from pathlib import Path

from autograder import notebooks

_MASTER = Path(__file__).resolve().parents[2] / "course" / "source" / "a10_training" / "a10_training.ipynb"
_KEY = notebooks.solutions_by_grade_id(notebooks.read(_MASTER))


def _variant(function: str, *edits: tuple[str, str]) -> str:
    """The key's cell for ``function`` with each (old, new) replaced; old must occur exactly once."""
    source = _KEY[f"sol_{function}"]
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


_SGD_HEAD = ("def sgd_momentum_step(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,\n"
             "                      nesterov=False, maximize=False):\n")
_ADAM_HEAD = ("def adam_step(params, grads, exp_avgs, exp_avg_sqs, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,\n"
              "              weight_decay=0.0, decoupled_weight_decay=False, maximize=False):\n")
_LR_HEAD = ("def scheduled_lr(kind, base_lr, epoch, step_size=None, gamma=0.1, milestones=(), T_max=None, eta_min=0.0,\n"
            "                 start_factor=1 / 3, end_factor=1.0, total_iters=5):\n")

WRONG = {
    "sgd_momentum_step": [
        (_variant("sgd_momentum_step",
                  ("        if weight_decay != 0:\n            g = g + weight_decay * p            # 先加权重衰减 / weight decay first\n", ""),
                  ("        new_params.append(p - lr * g)",
                   "        new_params.append(p - lr * (g + weight_decay * p))  # momentum first, decay after: not in the buffer")),
         "wrong"),
        (_variant("sgd_momentum_step", ("buf = g.clone()  ", "buf = (1 - dampening) * g  # first buffer damped too ")), "wrong"),
        (_variant("sgd_momentum_step",
                  ("            if buf is None:", "            old = torch.zeros_like(g) if buf is None else buf\n            if buf is None:"),
                  ("g = g + momentum * buf if nesterov else buf", "g = g + momentum * old if nesterov else buf  # Nesterov from the old buffer")),
         "wrong"),
        (_variant("sgd_momentum_step",
                  ("        g = -g if maximize else g\n", ""),
                  ("        if momentum != 0:", "        g = -g if maximize else g  # negated after the decay: decay pushes away from 0\n        if momentum != 0:")),
         "wrong"),
        (_variant("sgd_momentum_step",
                  ("        if g is None:  ", "        if g is None and False:  "),
                  ("        g = -g if maximize else g\n", "        g = torch.zeros_like(p) if g is None else (-g if maximize else g)  # frozen = zero gradient\n")),
         "wrong"),
        (_SGD_HEAD +
         "    leaves = [p.detach().clone() for p in params]\n"
         "    for p, g in zip(leaves, grads):\n"
         "        p.grad = g\n"
         "    opt = torch.optim.SGD(leaves, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,\n"
         "                          nesterov=nesterov, maximize=maximize)  # torch.optim is not allowed\n"
         "    for p, b in zip(leaves, momentum_buffers):\n"
         "        if b is not None:\n"
         "            opt.state[p]['momentum_buffer'] = b.clone()\n"
         "    opt.step()\n"
         "    return tuple(leaves), tuple(opt.state[p].get('momentum_buffer') for p in leaves)\n", "forbidden"),
        (_SGD_HEAD +
         "    leaves = [p.detach().clone() for p in params]\n"
         "    for p, g in zip(leaves, grads):\n"
         "        p.grad = g\n"
         "    opt = torch.optim.SGD(leaves, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,\n"
         "                          nesterov=nesterov, maximize=maximize, foreach=True)  # the multi-tensor path\n"
         "    for p, b in zip(leaves, momentum_buffers):\n"
         "        if b is not None:\n"
         "            opt.state[p]['momentum_buffer'] = b.clone()\n"
         "    opt.step()\n"
         "    return tuple(leaves), tuple(opt.state[p].get('momentum_buffer') for p in leaves)\n", "forbidden"),
    ],
    "adam_step": [
        (_variant("adam_step", ("m_hat = m / (1 - beta1 ** t)", "m_hat = m  # no bias correction"),
                  ("v_hat = v / (1 - beta2 ** t)", "v_hat = v")), "wrong"),
        (_variant("adam_step", ("        t = t + 1  ", "        pass  "),
                  ("        for lst, item in zip(out, (p, m, v, t)):\n            lst.append(item)\n    return",
                   "        t = t + 1  # counted after the correction: 1 - beta ** 0 = 0 on the first step\n"
                   "        for lst, item in zip(out, (p, m, v, t)):\n            lst.append(item)\n    return")), "wrong"),
        (_variant("adam_step", ("(torch.sqrt(v_hat) + eps)", "torch.sqrt(v_hat + eps)  # eps inside the root")), "wrong"),
        (_variant("adam_step", ("p = p * (1 - lr * weight_decay)", "p = p * (1 - weight_decay)  # lr forgotten")), "wrong"),
        (_variant("adam_step", ("        t = t + 1  ", "        t = t + 0  "),
                  ("m_hat = m / (1 - beta1 ** t)", "m_hat = m / (1 - beta1 ** (t + 1))"),
                  ("v_hat = v / (1 - beta2 ** t)", "v_hat = v / (1 - beta2 ** (t + 1))  # right update, step count never returned +1")),
         "wrong"),
        (_ADAM_HEAD +
         "    leaves = [p.detach().clone() for p in params]\n"
         "    for p, g in zip(leaves, grads):\n"
         "        p.grad = g\n"
         "    opt = torch.optim.Adam(leaves, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,\n"
         "                           decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)  # not allowed\n"
         "    for p, m, v, s in zip(leaves, exp_avgs, exp_avg_sqs, steps):\n"
         "        opt.state[p].update(step=torch.tensor(float(s)), exp_avg=m.clone(), exp_avg_sq=v.clone())\n"
         "    opt.step()\n"
         "    st = [opt.state[p] for p in leaves]\n"
         "    return (tuple(leaves), tuple(s['exp_avg'] for s in st), tuple(s['exp_avg_sq'] for s in st),\n"
         "            tuple(int(s['step']) for s in st))\n", "forbidden"),
        (_ADAM_HEAD +
         "    import torch.optim._functional as optim_f\n"
         "    keep = [i for i, g in enumerate(grads) if g is not None]\n"
         "    ps = [params[i].clone() for i in keep]\n"
         "    ms = [exp_avgs[i].clone() for i in keep]\n"
         "    vs = [exp_avg_sqs[i].clone() for i in keep]\n"
         "    ts = [torch.tensor(float(steps[i])) for i in keep]\n"
         "    optim_f.adam(ps, [grads[i] for i in keep], ms, vs, [], ts, amsgrad=False, beta1=betas[0], beta2=betas[1],\n"
         "                 lr=lr, weight_decay=weight_decay, eps=eps, maximize=maximize,\n"
         "                 decoupled_weight_decay=decoupled_weight_decay)  # torch's functional Adam: lerp_ gives it away\n"
         "    out = [list(params), list(exp_avgs), list(exp_avg_sqs), list(steps)]\n"
         "    for j, i in enumerate(keep):\n"
         "        out[0][i], out[1][i], out[2][i], out[3][i] = ps[j], ms[j], vs[j], int(ts[j])\n"
         "    return tuple(tuple(o) for o in out)\n", "forbidden"),
    ],
    "scheduled_lr": [
        (_variant("scheduled_lr", ("        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2",
                                   "        t = min(epoch, T_max)  # stops at eta_min: torch climbs back up\n"
                                   "        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2")), "wrong"),
        (_variant("scheduled_lr", ("base_lr * gamma ** (epoch // step_size)", "base_lr * gamma ** (epoch / step_size)  # no floor")),
         "wrong"),
        (_variant("scheduled_lr", ("passed = sum(1 for m in milestones if m <= epoch)",
                                   "passed = sum(1 for m in set(milestones) if m <= epoch)  # a repeated milestone counted once")),
         "wrong"),
        (_variant("scheduled_lr", ("min(epoch, total_iters) / total_iters)", "epoch / total_iters)  # never stops at end_factor")),
         "wrong"),
        (_variant("scheduled_lr", ("base_lr * gamma ** epoch", "base_lr * gamma ** (epoch + 1)  # one step ahead")), "wrong"),
        (_LR_HEAD +
         "    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)  # torch.optim is not allowed\n"
         "    S = torch.optim.lr_scheduler\n"
         "    sched = {'step': lambda: S.StepLR(opt, step_size, gamma), 'multistep': lambda: S.MultiStepLR(opt, list(milestones), gamma),\n"
         "             'exponential': lambda: S.ExponentialLR(opt, gamma), 'cosine': lambda: S.CosineAnnealingLR(opt, T_max, eta_min),\n"
         "             'linear': lambda: S.LinearLR(opt, start_factor, end_factor, total_iters)}[kind]()\n"
         "    for _ in range(epoch):\n"
         "        opt.step()\n"
         "        sched.step()\n"
         "    return opt.param_groups[0]['lr']\n", "forbidden"),
    ],
    "train_mlp": [
        (_variant("train_mlp",
                  ("        rate = lr if schedule is None else scheduled_lr(schedule, lr, epoch, **schedule_options)\n", ""),
                  ("        for start in range(0, len(X), batch_size):\n",
                   "        for start in range(0, len(X), batch_size):\n"
                   "            step = len(losses)  # the scheduler advanced on every batch instead of every epoch\n"
                   "            rate = lr if schedule is None else scheduled_lr(schedule, lr, step, **schedule_options)\n")),
         "wrong"),
        (_variant("train_mlp", ("    losses = []\n    for epoch in range(epochs):\n",
                                "    losses = []\n    fresh = state\n    for epoch in range(epochs):\n        state = fresh  # optimizer state reset every epoch\n")),
         "wrong"),
        (_variant("train_mlp", ("for start in range(0, len(X), batch_size):", "for start in range(0, len(X) - batch_size + 1, batch_size):  # last batch dropped")),
         "wrong"),
        (_variant("train_mlp", ("            losses.append(loss.detach())",
                                "            W1, b1, W2, b2 = params\n"
                                "            losses.append(F.cross_entropy(torch.tanh(xb @ W1.T + b1) @ W2.T + b2, yb).detach())  # after the update")),
         "wrong"),
        ("def train_mlp(X, y, params, epochs, batch_size, lr, optimizer='sgd', momentum=0.0, dampening=0.0, nesterov=False,\n"
         "              weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8, decoupled_weight_decay=False, schedule=None,\n"
         "              **schedule_options):\n"
         "    leaves = [p.detach().clone().requires_grad_() for p in params]\n"
         "    state = (None,) * 4 if optimizer == 'sgd' else (tuple(torch.zeros_like(p) for p in leaves),\n"
         "                                                    tuple(torch.zeros_like(p) for p in leaves), (0,) * 4)\n"
         "    losses = []\n"
         "    for epoch in range(epochs):\n"
         "        rate = lr if schedule is None else scheduled_lr(schedule, lr, epoch, **schedule_options)\n"
         "        for start in range(0, len(X), batch_size):\n"
         "            W1, b1, W2, b2 = leaves\n"
         "            loss = F.cross_entropy(torch.tanh(X[start:start + batch_size] @ W1.T + b1) @ W2.T + b2,\n"
         "                                   y[start:start + batch_size])\n"
         "            loss.backward()  # .grad is never zeroed: it accumulates\n"
         "            grads = [p.grad.clone() for p in leaves]\n"
         "            with torch.no_grad():\n"
         "                if optimizer == 'sgd':\n"
         "                    new, state = sgd_momentum_step(leaves, grads, state, rate, momentum, dampening, weight_decay, nesterov)\n"
         "                else:\n"
         "                    new, *state = adam_step(leaves, grads, *state, lr=rate, betas=betas, eps=eps,\n"
         "                                            weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay)\n"
         "                for p, q in zip(leaves, new):\n"
         "                    p.copy_(q)\n"
         "            losses.append(loss.detach())\n"
         "    return tuple(p.detach() for p in leaves), (torch.stack(losses) if losses else X.new_zeros(0))\n", "wrong"),
        ("def train_mlp(X, y, params, epochs, batch_size, lr, optimizer='sgd', momentum=0.0, dampening=0.0, nesterov=False,\n"
         "              weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8, decoupled_weight_decay=False, schedule=None,\n"
         "              **schedule_options):\n"
         "    leaves = [p.detach().clone().requires_grad_() for p in params]\n"
         "    if optimizer == 'sgd':  # torch.optim is not allowed\n"
         "        opt = torch.optim.SGD(leaves, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay)\n"
         "    else:\n"
         "        opt = torch.optim.Adam(leaves, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,\n"
         "                               decoupled_weight_decay=decoupled_weight_decay)\n"
         "    losses = []\n"
         "    for epoch in range(epochs):\n"
         "        for group in opt.param_groups:\n"
         "            group['lr'] = lr if schedule is None else scheduled_lr(schedule, lr, epoch, **schedule_options)\n"
         "        for start in range(0, len(X), batch_size):\n"
         "            W1, b1, W2, b2 = leaves\n"
         "            loss = F.cross_entropy(torch.tanh(X[start:start + batch_size] @ W1.T + b1) @ W2.T + b2,\n"
         "                                   y[start:start + batch_size])\n"
         "            opt.zero_grad()\n"
         "            loss.backward()\n"
         "            opt.step()\n"
         "            losses.append(loss.detach())\n"
         "    return tuple(p.detach() for p in leaves), (torch.stack(losses) if losses else X.new_zeros(0))\n", "forbidden"),
    ],
}
