"""Answer key: activations / 参考答案：activations.

GENERATED from course/source/a04_activations/a04_activations.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import math

import numpy as np
import torch


def relu(input, inplace=False):
    """max(0, x)，逐元素 / element-wise."""
    out = torch.where(input > 0, input, torch.zeros_like(input))
    return input.copy_(out) if inplace else out


def relu6(input, inplace=False):
    """min(max(0, x), 6)."""
    out = torch.where(input <= 0, torch.zeros_like(input), torch.where(input >= 6, torch.full_like(input, 6.0), input))
    return input.copy_(out) if inplace else out


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    out = torch.where(input > 0, input, input * negative_slope)
    return input.copy_(out) if inplace else out


def prelu(input, weight):
    """x if x > 0 else weight[c] * x, where c is the channel (dim 1)."""
    if weight.numel() == 1:
        w = weight.reshape(())
    elif input.ndim >= 2 and input.shape[1] == weight.numel():
        w = weight.reshape([1, -1] + [1] * (input.ndim - 2))
    else:
        raise RuntimeError("prelu: weight needs 1 element or one per channel (dim 1)")
    return torch.where(input > 0, input, w * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU with slope (lower + upper) / 2, or random in [lower, upper] when training."""
    if training:
        slope = torch.empty_like(input).uniform_(lower, upper)
    else:
        slope = (lower + upper) / 2
    out = torch.where(input > 0, input, input * slope)
    return input.copy_(out) if inplace else out


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value."""
    out = torch.where(input > threshold, input, torch.full_like(input, value))
    return input.copy_(out) if inplace else out


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clip to [min_val, max_val]."""
    low, high = torch.full_like(input, min_val), torch.full_like(input, max_val)
    out = torch.where(input <= min_val, low, torch.where(input >= max_val, high, input))
    return input.copy_(out) if inplace else out


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    out = torch.where(input <= -3, torch.zeros_like(input), torch.where(input >= 3, torch.ones_like(input), input / 6 + 0.5))
    return input.copy_(out) if inplace else out


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    out = torch.where(input <= -3, torch.zeros_like(input), torch.where(input >= 3, input, input * (input + 3) / 6))
    return input.copy_(out) if inplace else out


def hardshrink(input, lambd=0.5):
    """x if |x| > lambd else 0."""
    return torch.where((input > lambd) | (input < -lambd), input, torch.zeros_like(input))


def softshrink(input, lambd=0.5):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    zero = torch.zeros_like(input)
    return torch.where(input > lambd, input - lambd, torch.where(input < -lambd, input + lambd, zero))


def sigmoid(input):
    """1 / (1 + exp(-x)), computed without overflow."""
    neg_abs = torch.where(input >= 0, -input, input)  # -|x|, with gradient -sign at 0 taken as -1
    e = torch.exp(neg_abs)
    return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))


def tanh(input):
    """(e^x - e^-x) / (e^x + e^-x), computed without overflow."""
    t = torch.exp(2 * torch.where(input >= 0, -input, input))
    magnitude = (1 - t) / (1 + t)
    return torch.where(input >= 0, magnitude, -magnitude)


def logsigmoid(input):
    """log(sigmoid(x)), stable for large |x| (given: the form from lesson 05)."""
    neg_abs = torch.where(input >= 0, -input, input)
    return torch.where(input >= 0, torch.zeros_like(input), input) - torch.log1p(torch.exp(neg_abs))


def logsigmoid_backward(grad_output, input):
    """grad_output * d logsigmoid(x) / dx, by hand (no autograd)."""
    e = torch.exp(torch.where(input >= 0, -input, input))  # exp(-|x|) <= 1: never overflows
    return grad_output * torch.where(input >= 0, e / (1 + e), 1 / (1 + e))  # sigmoid(-x)


class LogSigmoidFunction(torch.autograd.Function):
    """logsigmoid with the backward written by hand / 反向传播手写的 logsigmoid."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return logsigmoid(input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return logsigmoid_backward(grad_output, input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, or x where beta * x > threshold."""
    scaled = input * beta
    safe = torch.where(scaled > threshold, torch.zeros_like(scaled), scaled)  # no overflow in the unused branch
    return torch.where(scaled > threshold, input, torch.log1p(torch.exp(safe)) / beta)


def softsign(input):
    """x / (1 + |x|) (given: the form from lesson 05)."""
    return input / (1 + input.abs())


def softsign_backward(grad_output, input):
    """grad_output * d softsign(x) / dx, by hand (no autograd)."""
    return grad_output / (1 + input.abs()) ** 2


class SoftsignFunction(torch.autograd.Function):
    """softsign with the backward written by hand / 反向传播手写的 softsign."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return softsign(input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return softsign_backward(grad_output, input)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - torch.tanh(input)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    negative = alpha * torch.expm1(torch.where(input > 0, torch.zeros_like(input), input))
    out = torch.where(input > 0, input, negative)
    return input.copy_(out) if inplace else out


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    negative = alpha * torch.expm1(torch.where(input > 0, torch.zeros_like(input), input))
    out = scale * torch.where(input > 0, input, negative)
    return input.copy_(out) if inplace else out


def celu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x / alpha) - 1)."""
    negative = alpha * torch.expm1(torch.where(input > 0, torch.zeros_like(input), input) / alpha)
    out = torch.where(input > 0, input, negative)
    return input.copy_(out) if inplace else out


def gelu(input, approximate="none"):
    """x * Phi(x), or its tanh approximation."""
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (input + 0.044715 * input ** 3)
        return 0.5 * input * (1 + torch.tanh(inner))
    if approximate != "none":
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * input * (1 + torch.erf(input / math.sqrt(2)))


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    out = input * sigmoid(input)
    return input.copy_(out) if inplace else out


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    out = input * torch.tanh(softplus(input))
    return input.copy_(out) if inplace else out


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / exp(x).sum(dim), computed stably."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if input.ndim and input.shape[dim] == 0:  # nothing to normalise over: an empty result / 空维度：结果为空
        return input * 0
    shifted = input - input.detach().amax(dim=dim, keepdim=True)
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x)."""
    return softmax(-input, dim=dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x, dim), computed stably."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if input.ndim and input.shape[dim] == 0:  # nothing to normalise over: an empty result / 空维度：结果为空
        return input * 0
    shifted = input - input.detach().amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def glu(input, dim=-1):
    """a * sigmoid(b), where a, b are the two halves of input along dim."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {input.shape[dim]}")
    a, b = input.chunk(2, dim=dim)
    return a * sigmoid(b)


def softplus_backward(grad_output, input, beta=1.0, threshold=20.0):
    """grad_output * d softplus(x) / dx, by hand (no autograd)."""
    scaled = input * beta
    return torch.where(scaled > threshold, grad_output, grad_output * sigmoid(scaled))


class SoftplusFunction(torch.autograd.Function):
    """softplus with the backward written by hand; beta and threshold get no gradient (None)."""

    @staticmethod
    def forward(ctx, input, beta=1.0, threshold=20.0):
        ctx.save_for_backward(input)
        ctx.beta, ctx.threshold = beta, threshold
        return softplus(input, beta, threshold)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return softplus_backward(grad_output, input, ctx.beta, ctx.threshold), None, None


def gelu_backward(grad_output, input, approximate="none"):
    """grad_output * d gelu(x) / dx, by hand (no autograd), for both forms."""
    if approximate == "tanh":
        k, c = math.sqrt(2 / math.pi), 0.044715
        t = torch.tanh(k * (input + c * input ** 3))
        return grad_output * (0.5 * (1 + t) + 0.5 * input * (1 - t * t) * k * (1 + 3 * c * input ** 2))
    if approximate != "none":
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    cdf = 0.5 * (1 + torch.erf(input / math.sqrt(2)))
    pdf = torch.exp(-0.5 * input * input) / math.sqrt(2 * math.pi)
    return grad_output * (cdf + input * pdf)
