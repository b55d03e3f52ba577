"""Answer key: a01_tensors / 参考答案：a01_tensors.

GENERATED from course/source/a01_tensors/a01_tensors.ipynb by `python -m autograder.keygen`: do not edit.
自动生成，请勿手改：修改教师版 notebook 后重新生成。
"""


import numpy as np
import torch


def full_float64_like(x, value):
    """返回与 x 形状、设备相同，dtype 为 float64，元素全为 value 的张量。
    Return a float64 tensor with x's shape and device, every element equal to value.
    """
    return torch.full(x.shape, value, dtype=torch.float64, device=x.device)


def shared_from_numpy(a):
    """返回与 NumPy 数组 a 共享内存的张量（值与 dtype 相同）。
    Return a tensor that shares memory with the NumPy array a (same values and dtype).
    """
    return torch.from_numpy(a)


def copied_from_numpy(a):
    """返回 NumPy 数组 a 的副本张量（值与 dtype 相同，不共享内存）。
    Return a tensor copy of the NumPy array a (same values and dtype, no shared memory).
    """
    return torch.tensor(a)


def linspace(start, end, steps, device):
    """不调用 torch.linspace，返回 device 上从 start 到 end 的 steps 个等间距 float32 点。
    Without torch.linspace, return steps evenly spaced float32 points from start to end on device.
    """
    if steps == 1:
        return torch.tensor([float(start)], device=device)
    i = torch.arange(steps, dtype=torch.float64, device=device)
    return (start + i * ((end - start) / (steps - 1))).to(torch.float32)


def transpose_flatten(x):
    """返回二维张量 x 转置后按行展平的一维张量。
    Return the transpose of the 2-D tensor x, flattened row by row to 1-D.
    """
    return x.T.reshape(-1)


def nbytes(x):
    """返回 x 全部元素占用的字节数（Python int）。
    Return the number of bytes taken by the elements of x (a Python int).
    """
    return x.numel() * x.element_size()


def pick_device():
    """有 CUDA 时返回 torch.device('cuda')，否则返回 torch.device('cpu')。
    Return torch.device('cuda') when CUDA is available, else torch.device('cpu').
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
