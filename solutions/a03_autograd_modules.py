"""Answer key: a03_autograd_modules / 参考答案：a03_autograd_modules.

GENERATED from course/source/a03_autograd_modules/a03_autograd_modules.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def derivative_by_hand(x):
    """f'(x) for f(x) = x**2 * sin(3x) + exp(-x**2 / 2) + log(1 + x**2), element-wise, without autograd."""
    return (2 * x * torch.sin(3 * x) + 3 * x ** 2 * torch.cos(3 * x)   # 乘积法则 / product rule
            - x * torch.exp(-x ** 2 / 2)                                # 链式法则 / chain rule
            + 2 * x / (1 + x ** 2))


def linear_grads(input, weight, bias, grad_output):
    """(dL/dinput, dL/dweight, dL/dbias) for y = input @ weight.T + bias and dL/dy = grad_output, without autograd."""
    C = grad_output.reshape(-1, weight.shape[0])   # 合并所有批量维 / merge every batch dimension
    x = input.reshape(-1, weight.shape[1])
    grad_input = grad_output @ weight              # C W
    grad_weight = C.T @ x                           # C^T x
    grad_bias = C.sum(dim=0) if bias is not None else None
    return grad_input, grad_weight, grad_bias


def straight_through_round(x):
    """round(x) in the forward pass; gradient 1 (the identity) in the backward pass."""
    return x + (torch.round(x) - x).detach()


def sgd_step(param, grad, lr, weight_decay=0.0, maximize=False):
    """One plain SGD step on param, in place (under no_grad); returns param itself."""
    with torch.no_grad():
        g = -grad if maximize else grad
        if weight_decay != 0:
            g = g + weight_decay * param
        param -= lr * g
    return param


def train_linear_regression(X, t, w, b, lr, steps):
    """(w, b) after `steps` steps of full-batch gradient descent on mean((X @ w + b - t) ** 2)."""
    w = w.detach().clone().requires_grad_()
    b = b.detach().clone().requires_grad_()
    for _ in range(steps):
        loss = ((X @ w + b - t) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None                 # 梯度清零 / zero the gradients
        b.grad = None
    return w.detach(), b.detach()


def linear(input, weight, bias=None):
    """input @ weight.T + bias, like torch.nn.functional.linear."""
    out = input @ weight.t()
    return out if bias is None else out + bias


def mlp_forward(x, w1, b1, w2, b2):
    """Linear(w1, b1) -> ReLU -> Linear(w2, b2), like an nn.Sequential holding these parameters."""
    h = linear(x, w1, b1).clamp(min=0)   # ReLU = max(0, z)
    return linear(h, w2, b2)


def state_dict_shapes(in_features, hidden_features, out_features, hidden_layers=1, bias=True):
    """[(name, shape), ...] of the state dict of the nn.Sequential MLP described above."""
    sizes = [in_features] + [hidden_features] * hidden_layers + [out_features]
    entries = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        entries.append((f"{2 * i}.weight", (n_out, n_in)))     # ReLU 占用奇数下标 / ReLUs take the odd indices
        if bias:
            entries.append((f"{2 * i}.bias", (n_out,)))
    return entries
