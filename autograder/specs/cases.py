"""Case generators shared by the specs / 各作业共用的测试用例生成器.

Inputs are drawn once, from a seeded generator, when a spec module is imported, so the
student's check, the grader and the tests all see the same numbers.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import torch

from autograder.specs import Case, Tensor


def _label(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def normal(rng: np.random.Generator, *shape, dtype=torch.float64, grad=False, scale=1.0, shift=0.0, **kw) -> Tensor:
    """A tensor argument of standard normal values times ``scale`` plus ``shift``."""
    return Tensor(rng.standard_normal(shape) * scale + shift, dtype, requires_grad=grad, **kw)


def elementwise(rng: np.random.Generator, variants=({},), *, scale: float = 3.0,
                extreme: bool = True, inplace: bool = False, extra_args=()) -> tuple[Case, ...]:
    """Cases for a function applied element by element (an activation).

    For each keyword variant: a float32 value case and a float64 gradient case. For the first
    variant also: 0-d, empty, non-contiguous, extreme magnitudes (overflow), and with
    ``inplace`` a case that must change the input in place.
    """
    x = partial(normal, rng, scale=scale)
    cases = []
    for i, kw in enumerate(variants):
        label = _label(kw)
        cases += [
            Case(_join("float32 (3, 4)", label), (x(3, 4, dtype=torch.float32), *extra_args), dict(kw), visible=i == 0),
            Case(_join("float64 (2, 3, 5), gradient", label), (x(2, 3, 5, grad=True), *extra_args), dict(kw),
                 visible=i == 0, probe="backward"),
        ]
    kw = dict(variants[0])
    label = _label(kw)
    cases += [
        Case(_join("float64 0-d, gradient", label), (x(grad=True), *extra_args), dict(kw), probe="backward"),
        Case(_join("float32 (0, 3) empty", label), (x(0, 3, dtype=torch.float32), *extra_args), dict(kw)),
        Case(_join("float64 (4, 6) non-contiguous", label), (x(4, 6, transpose=True), *extra_args), dict(kw)),
    ]
    if extreme:
        big = np.array([-800.0, -90.0, -30.0, -1e-3, 2e-3, 30.0, 90.0, 800.0])
        cases += [
            Case(_join("float64 |x| up to 800, gradient", label),
                 (Tensor(big, torch.float64, requires_grad=True), *extra_args), dict(kw), probe="backward"),
            Case(_join("float32 |x| up to 800", label), (Tensor(big, torch.float32), *extra_args), dict(kw)),
        ]
    if inplace:
        cases.append(Case(_join("inplace=True, float32 (5,)", label), (x(5, dtype=torch.float32), *extra_args),
                          {**kw, "inplace": True}, probe="inplace"))
    return tuple(cases)
