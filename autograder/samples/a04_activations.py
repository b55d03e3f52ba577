"""Wrong answers for a04 (each a whole solution cell) and the status each must get.

Several are the classic mistakes: formulas that overflow, `log(softmax)`, a kink on the wrong
side, a forgotten option, and calling torch's own function under another name.
"""

WRONG = {
    "relu": [("def relu(input, inplace=False):\n    f = torch.nn.functional.relu\n    return f(input, inplace=inplace)  # torch's own\n", "forbidden"),
             ("def relu(input, inplace=False):\n    return torch.where(input > 0, input, torch.zeros_like(input))  # ignores inplace\n", "wrong")],
    "relu6": [("def relu6(input, inplace=False):\n    return torch.where(input > 0, input, 0 * input)  # no upper clip at 6\n", "wrong")],
    "leaky_relu": [("def leaky_relu(input, negative_slope=0.01, inplace=False):\n    return torch.where(input > 0, input, 0.01 * input)  # slope fixed\n", "wrong")],
    "prelu": [("def prelu(input, weight):\n    return torch.where(input > 0, input, weight.detach().mean() * input)  # no gradient for weight\n", "wrong")],
    "rrelu": [("def rrelu(input, lower=1/8, upper=1/3, training=False, inplace=False):\n    return torch.where(input > 0, input, lower * input)  # wrong slope\n", "wrong")],
    "threshold": [("def threshold(input, threshold, value, inplace=False):\n    return torch.where(input >= threshold, input, torch.full_like(input, value)) + 0 * input  # ignores inplace\n", "wrong")],
    "hardtanh": [("def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):\n    return torch.nn.functional.hardtanh(input, min_val, max_val, inplace)\n", "forbidden")],
    "hardsigmoid": [("def hardsigmoid(input, inplace=False):\n    return torch.where(input <= -3, 0 * input, torch.where(input >= 3, 0 * input + 1, input / 3 + 0.5))  # slope 1/3\n", "wrong")],
    "hardswish": [("def hardswish(input, inplace=False):\n    return input * (input + 3) / 6  # no clipping\n", "wrong")],
    "hardshrink": [("def hardshrink(input, lambd=0.5):\n    return torch.where(input.abs() > 0.5, input, torch.zeros_like(input))  # lambd ignored\n", "wrong")],
    "softshrink": [("def softshrink(input, lambd=0.5):\n    return torch.where(input.abs() > lambd, input, torch.zeros_like(input))  # no shrink\n", "wrong")],
    "sigmoid": [("def sigmoid(input):\n    return 1 / (1 + torch.exp(-input))  # overflows: nan gradient at -800\n", "wrong"),
                ("def sigmoid(input):\n    return torch.special.expit(input)  # torch's sigmoid kernel\n", "forbidden")],
    "tanh": [("def tanh(input):\n    e, m = torch.exp(input), torch.exp(-input)\n    return (e - m) / (e + m)  # inf / inf = nan at 800\n", "wrong")],
    "softplus": [("def softplus(input, beta=1.0, threshold=20.0):\n    return torch.log1p(torch.exp(input))  # beta ignored, overflows\n", "wrong")],
    "tanhshrink": [("def tanhshrink(input):\n    return torch.tanh(input) - input  # sign flipped\n", "wrong")],
    "elu": [("def elu(input, alpha=1.0, inplace=False):\n    return torch.where(input > 0, input, alpha * (torch.exp(input) - 1))  # exp(800) in the unused branch\n", "wrong")],
    "selu": [("def selu(input, inplace=False):\n    return 1.0507 * torch.nn.functional.elu(input, 1.6733)  # torch's elu\n", "forbidden")],
    "celu": [("def celu(input, alpha=1.0, inplace=False):\n    x = torch.where(input > 0, torch.zeros_like(input), input)\n    return torch.where(input > 0, input, alpha * torch.expm1(x))  # forgot x / alpha\n", "wrong")],
    "gelu": [("def gelu(input, approximate='none'):\n    return 0.5 * input * (1 + torch.erf(input / math.sqrt(2)))  # ignores approximate\n", "wrong")],
    "silu": [("def silu(input, inplace=False):\n    return input * torch.nn.functional.silu(input) / input  # torch's silu, and 0/0\n", "forbidden")],
    "mish": [("def mish(input, inplace=False):\n    return input * torch.tanh(torch.log(1 + torch.exp(input)))  # inf at 800\n", "wrong")],
    "softmax": [("def softmax(input, dim=None, _stacklevel=3, dtype=None):\n    e = torch.exp(input)\n    return e / e.sum(dim=dim, keepdim=True)  # overflows, and dim=None\n", "wrong"),
                ("def softmax(input, dim=None, _stacklevel=3, dtype=None):\n    return input.softmax(dim if dim is not None else 1, dtype=dtype)  # torch's own\n", "forbidden"),
                ("def softmax(input, dim=None, _stacklevel=3, dtype=None):\n    if dim is None:\n        dim = 0 if input.ndim in (0, 1, 3) else 1\n"
                 "    shifted = input - input.detach().amax(dim=dim, keepdim=True)  # amax fails on an empty dim\n"
                 "    e = torch.exp(shifted)\n    return e / e.sum(dim=dim, keepdim=True)\n", "wrong")],
    "softmin": [("def softmin(input, dim=None, _stacklevel=3, dtype=None):\n    return softmax(input, dim=dim, dtype=dtype)  # forgot the minus\n", "wrong")],
    "log_softmax": [("def log_softmax(input, dim=None, _stacklevel=3, dtype=None):\n    return torch.log(softmax(input, dim=dim, dtype=dtype))  # -inf where softmax underflows\n", "wrong"),
                    ("def log_softmax(input, dim=None, _stacklevel=3, dtype=None):\n    return input - torch.logsumexp(input, dim=dim, keepdim=True)  # logsumexp is not allowed\n", "forbidden")],
    "logsigmoid_backward": [
        ("def logsigmoid_backward(grad_output, input):\n    return sigmoid(-input)  # forgot grad_output\n", "wrong"),
        ("def logsigmoid_backward(grad_output, input):\n    x = input.detach().requires_grad_()\n"
         "    (g,) = torch.autograd.grad(logsigmoid(x), x, grad_output)  # asks autograd\n    return g\n", "forbidden")],
    "softsign_backward": [("def softsign_backward(grad_output, input):\n    return grad_output / (1 + input.abs())  # square forgotten\n", "wrong"),
                          ("def softsign_backward(grad_output, input):\n    x = input.detach().clone()\n    x.requires_grad = True\n"
                           "    softsign(x).backward(grad_output)  # autograd again\n    return x.grad\n", "forbidden")],
    "softplus_backward": [("def softplus_backward(grad_output, input, beta=1.0, threshold=20.0):\n    return grad_output * sigmoid(beta * input)  # threshold ignored\n", "wrong"),
                          ("def softplus_backward(grad_output, input, beta=1.0, threshold=20.0):\n    return torch.ops.aten.softplus_backward(grad_output, input, beta, threshold)\n", "forbidden")],
    "gelu_backward": [("def gelu_backward(grad_output, input, approximate='none'):\n    cdf = 0.5 * (1 + torch.erf(input / math.sqrt(2)))\n"
                       "    return grad_output * (cdf + input * torch.exp(-input ** 2 / 2) / math.sqrt(2 * math.pi))  # approximate ignored\n", "wrong"),
                      ("def gelu_backward(grad_output, input, approximate='none'):\n    return grad_output * 0.5 * (1 + torch.erf(input / math.sqrt(2)))  # forgot x * pdf\n", "wrong")],
    "glu": [("def glu(input, dim=-1):\n    a, b = input.chunk(2, dim=dim)\n    return b * sigmoid(a)  # halves swapped\n", "wrong")],
}
