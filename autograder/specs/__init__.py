"""Graded checks as data / 以数据描述的评分检查.

A :class:`Problem` says which student function is graded, on which inputs (:class:`Case`),
against which torch reference, with which tolerance, for how many points, and which torch
operators it must not reach. The same spec drives the student's visible check
(:mod:`autograder.check`), hidden grading (:mod:`autograder.judge`) and the unit tests.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

# Tolerances per dtype: (rtol, atol). Exact for integers and bool.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (1.6e-2, 1e-2),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-10, 1e-12),
}


@dataclass(frozen=True)
class Tensor:
    """A tensor argument: `data` is made on CPU, then moved to the case's device."""
    data: np.ndarray
    dtype: torch.dtype
    requires_grad: bool = False
    transpose: bool = False  # pass `x.T` (a non-contiguous view) instead of x


@dataclass(frozen=True)
class Array:
    """A NumPy array argument (passed as is, never moved to a device)."""
    data: np.ndarray


@dataclass(frozen=True)
class Dtype:
    dtype: torch.dtype


@dataclass(frozen=True)
class Device:
    """The case's device (``cpu`` or ``cuda``) as a ``torch.device``."""


Arg = Any  # Tensor | Array | Dtype | Device | bool | int | float | str | None


@dataclass(frozen=True)
class Case:
    """One call of the student's function.

    probe:  None; "mutate_input": after the call, add 1 in place to the first array/tensor
            argument and read the result again (proves memory sharing); "backward":
            backpropagate a fixed upstream gradient from the result and compare the gradient
            of every input tensor made with ``requires_grad=True``; "inplace": the first
            argument must be changed in place and returned itself.
    watch:  arguments (positions or keyword names) the function must update in place, e.g.
            batch norm's running statistics; their values after the call are compared.
    preprocess: "log_softmax": the first argument is passed through ``log_softmax(dim=-1)``
            (outside the operator recorders) and gradients are taken w.r.t. the raw logits.
    random: the result is random (dropout while training): the problem's ``validate`` judges it.
    """
    name: str
    args: tuple[Arg, ...] = ()
    kwargs: dict[str, Arg] = field(default_factory=dict)
    visible: bool = False
    per_device: bool = True
    probe: str | None = None
    watch: tuple[int | str, ...] = ()
    preprocess: str | None = None
    random: bool = False


@dataclass(frozen=True)
class Problem:
    """A graded function.

    reference(*args, **kwargs) computes what a correct answer returns, on the same inputs.
    expect_shared: for probe cases, whether the answer must share memory with the input.
    validate: for cases marked ``random``: ``validate(args, kwargs, result)`` on CPU returns None
              or a ``results.Msg``; it replaces the value, gradient and in-place comparisons (type,
              dtype, shape and device are still compared with the reference). The function is
              called twice, from two fresh random states, and each result is validated.
    varies: for random cases, ``varies(args, kwargs)`` says whether the two draws must differ
            (e.g. dropout of a non-zero input with 0 < p < 1): a fixed pattern is then rejected.
    tolerances: per-dtype (rtol, atol) for this problem, where torch itself rounds a constant
                to float32 (e.g. the 1/6 in hardsigmoid's gradient).
    forbidden: names the student's code must not reach, matched against both the aten
               operators torch dispatches (``"_log_softmax"``) and the torch API functions
               called (``"cross_entropy"``, ``"log_softmax"``), so renaming cannot dodge it.
    """
    function: str
    title_zh: str
    title_en: str
    points: float
    reference: Callable[..., Any]
    cases: tuple[Case, ...]
    forbidden: tuple[str, ...] = ()
    expect_shared: bool | None = None
    tolerances: dict[torch.dtype, tuple[float, float]] | None = None  # overrides TOLERANCES
    validate: Callable[[list, dict, torch.Tensor], Any] | None = None
    varies: Callable[[list, dict], bool] | None = None  # random cases: whether two draws must differ

    @property
    def grade_id(self) -> str:
        return f"test_{self.function}"


@dataclass(frozen=True)
class Assignment:
    name: str
    problems: tuple[Problem, ...]

    def problem(self, key: str) -> Problem:
        for p in self.problems:
            if key in (p.function, p.grade_id):
                return p
        raise KeyError(f"{self.name} has no problem {key!r}")


def load(assignment: str, missing_ok: bool = False) -> Assignment:
    """The spec of an assignment, e.g. ``load("a01_tensors")``. With ``missing_ok`` an assignment
    that has no spec module (any nbgrader assignment: only classic test cells) gets an empty
    spec; a spec module that exists but fails to import still raises."""
    name = f"autograder.specs.{assignment}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if missing_ok and exc.name == name and "." not in assignment:
            return Assignment(assignment, ())
        raise
    return module.ASSIGNMENT


def devices() -> list[str]:
    """Every device this machine can grade on: CPU always, CUDA when present."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def with_inplace(*names: str) -> tuple[str, ...]:
    """Each forbidden name and its in-place variant (``relu`` -> ``relu``, ``relu_``)."""
    return tuple(sorted({n for name in names for n in (name, name + "_")}))


SOFTMAX_KERNELS: tuple[str, ...] = ("softmax", "_softmax", "log_softmax", "_log_softmax", "softmin", "logsumexp")

# Every torch loss, as the API functions students could call (F.*, which nn.*Loss modules call)
# and as the aten kernels behind them; with the softmax family. No graded loss may reach any.
LOSS_KERNELS: tuple[str, ...] = tuple(sorted({
    "l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "cross_entropy", "cross_entropy_loss", "linear_cross_entropy", "nll_loss", "nll_loss_nd",
    "nll_loss_forward", "nll_loss2d", "nll_loss2d_forward", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "soft_margin_loss", "multilabel_soft_margin_loss",
    "hinge_embedding_loss", "margin_ranking_loss", "cosine_embedding_loss", "multi_margin_loss",
    "multilabel_margin_loss", "multilabel_margin_loss_forward", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "ctc_loss", "_ctc_loss", "_cudnn_ctc_loss", "_use_cudnn_ctc",
    *SOFTMAX_KERNELS,
}))
