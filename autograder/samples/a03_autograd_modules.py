"""Wrong answers for a03 (each a whole solution cell) and the status each must get.

The classic mistakes of the two lessons: a dropped chain-rule factor, a bias gradient summed over
dim 0 only, a gradient cut by round() or detach(), `param = param - lr * grad`, forgetting to zero
the gradients, a missing transpose, a missing ReLU, consecutive state-dict indices; and autograd or
torch's own linear where the problem forbids them.
"""

WRONG = {
    "derivative_by_hand": [
        ("def derivative_by_hand(x):\n"
         "    return 2 * x * torch.sin(3 * x) + x ** 2 * torch.cos(3 * x) - x * torch.exp(-x ** 2 / 2) + 2 * x / (1 + x ** 2)"
         "  # chain-rule factor 3 dropped\n", "wrong"),
        ("def derivative_by_hand(x):\n"
         "    z = x.detach().clone().requires_grad_()\n"
         "    f = z ** 2 * torch.sin(3 * z) + torch.exp(-z ** 2 / 2) + torch.log1p(z ** 2)\n"
         "    return torch.autograd.grad(f.sum(), z)[0]  # autograd is not allowed\n", "forbidden"),
        ("def derivative_by_hand(x):\n"
         "    z = x.detach().clone().requires_grad_()\n"
         "    (z ** 2 * torch.sin(3 * z) + torch.exp(-z ** 2 / 2) + torch.log1p(z ** 2)).sum().backward()\n"
         "    return z.grad  # backward() is autograd too\n", "forbidden"),
        ("def derivative_by_hand(x):\n"
         "    f = lambda z: z ** 2 * torch.sin(3 * z) + torch.exp(-z ** 2 / 2) + torch.log1p(z ** 2)\n"
         "    h = 1e-6\n"
         "    return (f(x + h) - f(x - h)) / (2 * h)  # finite differences: not precise enough\n", "wrong"),
    ],
    "linear_grads": [
        ("def linear_grads(input, weight, bias, grad_output):\n"
         "    C = grad_output.reshape(-1, weight.shape[0])\n"
         "    x = input.reshape(-1, weight.shape[1])\n"
         "    grad_bias = grad_output.sum(dim=0) if bias is not None else None  # sums over dim 0 only\n"
         "    return grad_output @ weight, C.T @ x, grad_bias\n", "wrong"),
        ("def linear_grads(input, weight, bias, grad_output):\n"
         "    leaves = [t.detach().clone().requires_grad_() for t in (input, weight, bias) if t is not None]\n"
         "    y = leaves[0] @ leaves[1].T + (leaves[2] if bias is not None else 0)\n"
         "    y.backward(grad_output)  # autograd is not allowed\n"
         "    return tuple(t.grad for t in leaves) + ((None,) if bias is None else ())\n", "forbidden"),
        ("def linear_grads(input, weight, bias, grad_output):\n"
         "    C = grad_output.reshape(-1, weight.shape[0])\n"
         "    x = input.reshape(-1, weight.shape[1])\n"
         "    return grad_output @ weight, x.T @ C, C.sum(dim=0)  # weight gradient transposed, bias=None ignored\n", "wrong"),
    ],
    "straight_through_round": [
        ("def straight_through_round(x):\n    return torch.round(x)  # gradient 0 everywhere\n", "wrong"),
        ("def straight_through_round(x):\n    return x + (torch.floor(x + 0.5) - x).detach()  # wrong at the midpoints\n", "wrong"),
        ("def straight_through_round(x):\n    return x + (torch.round(x) - x)  # no detach: the gradient is round's, 0\n", "wrong"),
    ],
    "sgd_step": [
        ("def sgd_step(param, grad, lr, weight_decay=0.0, maximize=False):\n"
         "    g = -grad if maximize else grad\n"
         "    param = param - lr * (g + weight_decay * param)  # a new tensor: the caller's param is unchanged\n"
         "    return param\n", "wrong"),
        ("def sgd_step(param, grad, lr, weight_decay=0.0, maximize=False):\n"
         "    g = -grad if maximize else grad\n"
         "    param -= lr * (g + weight_decay * param)  # outside no_grad: RuntimeError on a leaf that requires grad\n"
         "    return param\n", "wrong"),
        ("def sgd_step(param, grad, lr, weight_decay=0.0, maximize=False):\n"
         "    with torch.no_grad():\n"
         "        g = grad + weight_decay * param\n"
         "        param -= -lr * g if maximize else lr * g  # negates the weight decay too\n"
         "    return param\n", "wrong"),
    ],
    "train_linear_regression": [
        ("def train_linear_regression(X, t, w, b, lr, steps):\n"
         "    w = w.detach().clone().requires_grad_()\n"
         "    b = b.detach().clone().requires_grad_()\n"
         "    for _ in range(steps):\n"
         "        ((X @ w + b - t) ** 2).mean().backward()\n"
         "        with torch.no_grad():\n"
         "            w -= lr * w.grad\n"
         "            b -= lr * b.grad  # gradients never zeroed: they accumulate\n"
         "    return w.detach(), b.detach()\n", "wrong"),
        ("def train_linear_regression(X, t, w, b, lr, steps):\n"
         "    w = w.detach().clone().requires_grad_()\n"
         "    b = b.detach().clone().requires_grad_()\n"
         "    for _ in range(steps):\n"
         "        ((X @ w + b - t) ** 2).sum().backward()  # sum, not mean\n"
         "        with torch.no_grad():\n"
         "            w -= lr * w.grad\n"
         "            b -= lr * b.grad\n"
         "        w.grad = None\n"
         "        b.grad = None\n"
         "    return w.detach(), b.detach()\n", "wrong"),
    ],
    "linear": [
        ("def linear(input, weight, bias=None):\n"
         "    f = torch.nn.functional.linear\n"
         "    return f(input, weight, bias)  # torch's own, renamed\n", "forbidden"),
        ("def linear(input, weight, bias=None):\n"
         "    out = input @ weight  # transpose forgotten\n"
         "    return out if bias is None else out + bias\n", "wrong"),
        ("def linear(input, weight, bias=None):\n"
         "    out = input.detach() @ weight.t()  # the graph is cut: no gradient for input\n"
         "    return out if bias is None else out + bias\n", "wrong"),
    ],
    "mlp_forward": [
        ("def mlp_forward(x, w1, b1, w2, b2):\n    return linear(linear(x, w1, b1), w2, b2)  # ReLU forgotten\n", "wrong"),
        ("def mlp_forward(x, w1, b1, w2, b2):\n"
         "    h = torch.nn.functional.linear(x, w1, b1).clamp(min=0)\n"
         "    return torch.nn.functional.linear(h, w2, b2)  # torch's own linear\n", "forbidden"),
        ("def mlp_forward(x, w1, b1, w2, b2):\n    return linear(linear(x, w1, b1).clamp(min=0), w2, b2).clamp(min=0)  # ReLU after the output\n", "wrong"),
    ],
    "state_dict_shapes": [
        ("def state_dict_shapes(in_features, hidden_features, out_features, hidden_layers=1, bias=True):\n"
         "    sizes = [in_features] + [hidden_features] * hidden_layers + [out_features]\n"
         "    out = []\n"
         "    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):\n"
         "        out += [(f'{i}.weight', (b, a))] + ([(f'{i}.bias', (b,))] if bias else [])  # ReLU takes an index too\n"
         "    return out\n", "wrong"),
        ("def state_dict_shapes(in_features, hidden_features, out_features, hidden_layers=1, bias=True):\n"
         "    sizes = [in_features] + [hidden_features] * hidden_layers + [out_features]\n"
         "    out = []\n"
         "    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):\n"
         "        out += [(f'{2 * i}.weight', (a, b))] + ([(f'{2 * i}.bias', (b,))] if bias else [])  # (in, out)\n"
         "    return out\n", "wrong"),
        ("def state_dict_shapes(in_features, hidden_features, out_features, hidden_layers=1, bias=True):\n"
         "    layers = []\n"
         "    sizes = [in_features] + [hidden_features] * hidden_layers + [out_features]\n"
         "    for a, b in zip(sizes[:-1], sizes[1:]):\n"
         "        layers += [nn.Linear(a, b, bias=bias), nn.ReLU()]\n"
         "    sd = nn.Sequential(*layers[:-1]).state_dict()\n"
         "    return [(k, v.shape) for k, v in sd.items()]  # torch.Size, not a plain tuple\n", "wrong"),
    ],
}
