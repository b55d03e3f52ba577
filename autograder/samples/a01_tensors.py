"""Wrong answers for a01 (each a whole solution cell) and the status each must get."""

WRONG = {
    "full_float64_like": [
        ("def full_float64_like(x, value):\n    return torch.full_like(x, value)  # keeps x's dtype\n", "wrong"),
        ("def full_float64_like(x, value):\n    return torch.full((x.numel(),), value, dtype=torch.float64, device=x.device)  # flat\n", "wrong"),
    ],
    "shared_from_numpy": [
        ("def shared_from_numpy(a):\n    return torch.tensor(a)  # copies\n", "wrong"),
        ("def shared_from_numpy(a):\n    return torch.from_numpy(a).float()  # float32: a new tensor\n", "wrong"),
    ],
    "copied_from_numpy": [
        ("def copied_from_numpy(a):\n    return torch.as_tensor(a)  # shares\n", "wrong"),
        ("def copied_from_numpy(a):\n    return torch.tensor(a.tolist(), dtype=torch.float32)  # wrong dtype\n", "wrong"),
    ],
    "linspace": [
        ("def linspace(start, end, steps, device):\n    f = torch.linspace\n    return f(start, end, steps, device=device)  # renamed, still torch's\n", "forbidden"),
        ("def linspace(start, end, steps, device):\n    return start + torch.arange(steps, device=device) * (end - start) / steps  # off by one\n", "wrong"),
        ("def linspace(start, end, steps, device):\n    return start + torch.arange(steps, dtype=torch.float64, device=device) * ((end - start) / max(steps - 1, 1))  # float64\n", "wrong"),
    ],
    "transpose_flatten": [
        ("def transpose_flatten(x):\n    return x.reshape(-1)  # forgot the transpose\n", "wrong"),
        ("def transpose_flatten(x):\n    return x.T.view(-1)  # raises on non-contiguous input\n", "wrong"),
    ],
    "nbytes": [
        ("def nbytes(x):\n    return torch.tensor(x.numel() * x.element_size())  # a tensor, not an int\n", "wrong"),
        ("def nbytes(x):\n    return x.numel() * 4  # assumes float32\n", "wrong"),
    ],
    "pick_device": [
        ("def pick_device():\n    return 'cpu'  # a str, not a torch.device\n", "wrong"),
    ],
}
