"""Answer key: training / 参考答案：training.

GENERATED from course/source/a10_training/a10_training.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import math

import numpy as np
import torch
import torch.nn.functional as F


def sgd_momentum_step(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                      nesterov=False, maximize=False):
    """One step of torch.optim.SGD on every parameter: returns (new_params, new_momentum_buffers), two tuples."""
    new_params, new_buffers = [], []
    for p, g, buf in zip(params, grads, momentum_buffers):
        if g is None:                           # 没有梯度：参数和状态都不动 / no gradient: parameter and state untouched
            new_params.append(p)
            new_buffers.append(buf)
            continue
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + weight_decay * p            # 先加权重衰减 / weight decay first
        if momentum != 0:
            if buf is None:
                buf = g.clone()                 # 第一步：直接复制，不衰减 / first step: a plain copy, undamped
            else:
                buf = momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        new_params.append(p - lr * g)
        new_buffers.append(buf)
    return tuple(new_params), tuple(new_buffers)


def adam_step(params, grads, exp_avgs, exp_avg_sqs, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    """One step of torch.optim.Adam: returns (new_params, new_exp_avgs, new_exp_avg_sqs, new_steps), four tuples."""
    beta1, beta2 = betas
    out = ([], [], [], [])
    for p, g, m, v, t in zip(params, grads, exp_avgs, exp_avg_sqs, steps):
        if g is None:                           # 没有梯度：步数也不加 / no gradient: not even the step count moves
            for lst, item in zip(out, (p, m, v, t)):
                lst.append(item)
            continue
        g = -g if maximize else g
        t = t + 1                               # 先加步数，偏差修正用新的 t / count first: bias correction uses the new t
        if weight_decay != 0:
            if decoupled_weight_decay:
                p = p * (1 - lr * weight_decay)  # AdamW：直接作用于参数 / AdamW: applied to the parameter itself
            else:
                g = g + weight_decay * p        # L2：加进梯度 / L2: added to the gradient
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)            # 偏差修正 / bias correction
        v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (torch.sqrt(v_hat) + eps)   # eps 在根号外 / eps outside the square root
        for lst, item in zip(out, (p, m, v, t)):
            lst.append(item)
    return tuple(tuple(lst) for lst in out)


def scheduled_lr(kind, base_lr, epoch, step_size=None, gamma=0.1, milestones=(), T_max=None, eta_min=0.0,
                 start_factor=1 / 3, end_factor=1.0, total_iters=5):
    """The learning rate during `epoch` (after `epoch` calls of scheduler.step()), as a Python float."""
    if kind == "step":
        return base_lr * gamma ** (epoch // step_size)
    if kind == "multistep":
        passed = sum(1 for m in milestones if m <= epoch)   # 重复的里程碑各算一次 / a repeated milestone counts each time
        return base_lr * gamma ** passed
    if kind == "exponential":
        return base_lr * gamma ** epoch
    if kind == "cosine":
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
    if kind == "linear":
        return base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)
    raise ValueError(f"unknown scheduler kind {kind!r}")


def train_mlp(X, y, params, epochs, batch_size, lr, optimizer="sgd", momentum=0.0, dampening=0.0, nesterov=False,
              weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8, decoupled_weight_decay=False, schedule=None,
              **schedule_options):
    """Train Linear -> tanh -> Linear with cross-entropy on mini-batches taken in order; returns (params, losses)."""
    params = tuple(p.detach().clone() for p in params)
    if optimizer == "sgd":
        state = (None,) * len(params)
    else:
        state = (tuple(torch.zeros_like(p) for p in params), tuple(torch.zeros_like(p) for p in params),
                 (0,) * len(params))
    losses = []
    for epoch in range(epochs):
        rate = lr if schedule is None else scheduled_lr(schedule, lr, epoch, **schedule_options)
        for start in range(0, len(X), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            leaves = [p.requires_grad_() for p in params]
            W1, b1, W2, b2 = leaves
            loss = F.cross_entropy(torch.tanh(xb @ W1.T + b1) @ W2.T + b2, yb)
            grads = torch.autograd.grad(loss, leaves)    # 每步新算的梯度，无需清零 / fresh gradients, nothing to zero
            params = tuple(p.detach() for p in leaves)
            if optimizer == "sgd":
                params, state = sgd_momentum_step(params, grads, state, rate, momentum, dampening, weight_decay,
                                                  nesterov)
            else:
                params, *state = adam_step(params, grads, *state, lr=rate, betas=betas, eps=eps,
                                           weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay)
            losses.append(loss.detach())
    return params, (torch.stack(losses) if losses else X.new_zeros(0))
