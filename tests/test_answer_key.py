"""The answer key (`solutions/`) as a reference: torch's signatures, elementary operations only,
and torch's values and gradients over random shapes, dtypes, options and devices."""
import ast
import dataclasses
import inspect
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import harness, judge, specs
from autograder.check import evaluate
from autograder.keygen import key_module
from conftest import MASTERS

DEPRECATED = {"size_average", "reduce"}
ASSIGNMENTS = [p.stem for p in MASTERS]
MIRRORS_F = [(a, p) for a in ASSIGNMENTS for p in specs.load(a).problems
             if key_module(a).__name__ in ("solutions.activations", "solutions.layers", "solutions.losses")
             and hasattr(F, p.function)]  # a hand-written backward (`softplus_backward`) has no F twin


def torch_parameters(fn) -> list[tuple[str, object]]:
    """(name, default) of a torch.nn.functional function, builtins read from their docstring."""
    try:
        params = inspect.signature(fn).parameters.values()
        return [(p.name, p.default) for p in params if p.name not in DEPRECATED]
    except ValueError:
        head = re.match(r"\s*\w+\((.*?)\)\s*->", fn.__doc__).group(1)
        out = []
        for part in filter(None, (s.strip() for s in head.split(","))):
            name, _, default = part.partition("=")
            if name.strip() not in ("*",):
                out.append((name.strip(), ast.literal_eval(default.strip()) if default else inspect.Parameter.empty))
        return out


@pytest.mark.parametrize("assignment,problem", MIRRORS_F, ids=lambda x: getattr(x, "function", x))
def test_key_has_torch_signature(assignment, problem):
    """Same parameter names, order and defaults as torch.nn.functional (deprecated ones aside)?"""
    ours = [(p.name, p.default) for p in inspect.signature(getattr(key_module(assignment), problem.function)).parameters.values()]
    assert ours == torch_parameters(getattr(F, problem.function))


@pytest.mark.parametrize("assignment,problem", [(a, p) for a in ASSIGNMENTS for p in specs.load(a).problems],
                         ids=lambda x: getattr(x, "function", x))
def test_key_reaches_no_forbidden_kernel(assignment, problem):
    """Run on every hidden case: does the key reach none of the names its problem forbids, and a
    loss none of torch's loss or softmax kernels (seen by the dispatcher and the API recorder)?"""
    key = getattr(key_module(assignment), problem.function)
    forbidden = set(problem.forbidden)
    if key_module(assignment).__name__ == "solutions.losses":
        forbidden |= set(specs.LOSS_KERNELS)
    arrays: dict = {}
    plan = judge.plan(problem, arrays, specs.devices())
    reached = set()
    for i, wire in enumerate(plan.wire):
        record = harness.run_case(key, wire, arrays, {}, f"k{i}")
        reached |= set(record["ops"]) | set(record["calls"])
    assert not reached & forbidden


# ------------------------------------------------------------------ property-based: activations

A = key_module("a04_activations")
FLOATS = st.sampled_from([torch.float32, torch.float64])
SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
POSITIVE = st.floats(0.05, 3.0)
OPTIONS = {
    "relu": st.just({}), "relu6": st.just({}), "selu": st.just({}), "silu": st.just({}), "mish": st.just({}),
    "hardsigmoid": st.just({}), "hardswish": st.just({}), "sigmoid": st.just({}), "tanh": st.just({}),
    "logsigmoid": st.just({}), "softsign": st.just({}), "tanhshrink": st.just({}),
    "leaky_relu": st.fixed_dictionaries({"negative_slope": st.floats(0.0, 0.5)}),
    "rrelu": st.tuples(st.floats(0.0, 0.3), st.floats(0.3, 0.9)).map(lambda t: {"lower": t[0], "upper": t[1]}),
    "threshold": st.fixed_dictionaries({"threshold": st.floats(-2, 2), "value": st.floats(-3, 3)}),
    "hardtanh": st.tuples(st.floats(-3, 0), st.floats(0.01, 3)).map(lambda t: {"min_val": t[0], "max_val": t[1]}),
    "hardshrink": st.fixed_dictionaries({"lambd": POSITIVE}), "softshrink": st.fixed_dictionaries({"lambd": POSITIVE}),
    "softplus": st.fixed_dictionaries({"beta": POSITIVE, "threshold": st.floats(1.0, 30.0)}),
    "elu": st.fixed_dictionaries({"alpha": POSITIVE}), "celu": st.fixed_dictionaries({"alpha": POSITIVE}),
    "gelu": st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])}),
}
A04 = specs.load("a04_activations")


def close(got, expected, dtype, tolerances=None):
    """assert_close with the course's per-dtype tolerance, or a problem's own where it has one."""
    rtol, atol = (tolerances or {}).get(dtype) or specs.TOLERANCES[dtype]
    torch.testing.assert_close(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def value_and_grad(fn, x, *args, **kwargs):
    x = x.detach().clone().requires_grad_()
    y = fn(x, *args, **kwargs)
    y.backward(harness.grad_pattern(y.shape, y.dtype, y.device))
    return y.detach(), x.grad


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(OPTIONS)), shape=SHAPES, dtype=FLOATS, scale=st.sampled_from([0.5, 3.0, 40.0]),
       seed=st.integers(0, 2**16), device=st.sampled_from(specs.devices()), data=st.data())
def test_elementwise_activations_match_torch(name, shape, dtype, scale, seed, device, data):
    """Any shape, float dtype, option values and device: key == torch in value and gradient?"""
    kwargs = data.draw(OPTIONS[name], label="options")
    x = (torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale).to(device, dtype)
    got, got_grad = value_and_grad(getattr(A, name), x, **kwargs)
    expected, expected_grad = value_and_grad(getattr(F, name), x, **kwargs)
    close(got, expected, dtype)
    graded = {p.function for p in A04.problems}
    close(got_grad, expected_grad, dtype, A04.problem(name).tolerances if name in graded else None)  # torch's float32 constants


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(["softmax", "softmin", "log_softmax"]), shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple),
       dtype=FLOATS, scale=st.sampled_from([1.0, 30.0, 500.0]), seed=st.integers(0, 2**16),
       device=st.sampled_from(specs.devices()), data=st.data())
def test_softmax_family_matches_torch(name, shape, dtype, scale, seed, device, data):
    """Every dim of every shape, large logits included: key == torch in value and gradient?"""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = (torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale).to(device, dtype)
    got, got_grad = value_and_grad(getattr(A, name), x, dim=dim)
    expected, expected_grad = value_and_grad(getattr(F, name), x, dim=dim)
    close(got, expected, dtype)
    close(got_grad, expected_grad, dtype)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(lambda s: tuple(s)), seed=st.integers(0, 2**16),
       dtype=FLOATS, device=st.sampled_from(specs.devices()), data=st.data())
def test_glu_and_prelu_match_torch(shape, seed, dtype, device, data):
    """glu along any even dim; prelu with one shared or one per-channel weight (value and both gradients)."""
    gen = torch.Generator().manual_seed(seed)
    dim = data.draw(st.integers(0, len(shape) - 1), label="dim")
    x = (torch.randn(shape[:dim] + (2 * shape[dim],) + shape[dim + 1:], generator=gen, dtype=torch.float64) * 3).to(device, dtype)
    for got, expected in zip(value_and_grad(A.glu, x, dim=dim), value_and_grad(F.glu, x, dim=dim)):
        close(got, expected, dtype)
    channels = x.shape[1] if x.ndim >= 2 and data.draw(st.booleans(), label="per channel") else 1
    w0 = torch.rand(channels, generator=gen, dtype=torch.float64).to(device, dtype)
    results = []
    for f in (A.prelu, F.prelu):
        xi, w = x.clone().requires_grad_(), w0.clone().requires_grad_()
        y = f(xi, w)
        y.backward(harness.grad_pattern(y.shape, y.dtype, y.device))
        results.append((y.detach(), xi.grad, w.grad))
    for got, expected in zip(*results):
        close(got, expected, dtype)


# ------------------------------------------------------------------ property-based: every key function

ALL_PROBLEMS = [(a, p) for a in ASSIGNMENTS for p in specs.load(a).problems]


def shuffled(arg, rng: np.random.Generator):
    """The same argument with its floating-point values in a random order (domain kept: a
    probability stays a probability, a variance stays positive; integer targets are kept)."""
    if isinstance(arg, specs.Tensor) and np.asarray(arg.data).dtype.kind == "f" and np.asarray(arg.data).size > 1:
        data = np.asarray(arg.data)
        return dataclasses.replace(arg, data=rng.permutation(data.reshape(-1)).reshape(data.shape))
    return arg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(ALL_PROBLEMS) - 1), case=st.integers(0, 10**6), seed=st.integers(0, 2**32 - 1))
def test_every_key_function_matches_torch_on_reshuffled_inputs(index, case, seed):
    """Any problem, any of its cases (options, shapes, dtypes, devices), inputs redrawn: does the
    key still match torch in value and gradient?"""
    assignment, problem = ALL_PROBLEMS[index]
    chosen = problem.cases[case % len(problem.cases)]
    rng = np.random.default_rng(seed)
    redrawn = dataclasses.replace(chosen, args=tuple(shuffled(a, rng) for a in chosen.args),
                                  kwargs={k: shuffled(v, rng) for k, v in chosen.kwargs.items()})
    result = evaluate(dataclasses.replace(problem, cases=(redrawn,)), getattr(key_module(assignment), problem.function))
    assert result.status == "ok", [str(c.message) for c in result.cases if not c.passed]


KEY_COVERAGE = {
    "solutions.activations": "relu relu6 leaky_relu prelu rrelu elu selu celu gelu silu mish threshold hardtanh "
                             "hardsigmoid hardswish hardshrink softshrink tanhshrink sigmoid tanh logsigmoid softplus "
                             "softsign softmin softmax log_softmax glu",
    "solutions.layers": "linear batch_norm layer_norm dropout pairwise_distance cosine_similarity",
    "solutions.losses": "l1_loss mse_loss huber_loss smooth_l1_loss poisson_nll_loss gaussian_nll_loss cross_entropy "
                        "nll_loss binary_cross_entropy binary_cross_entropy_with_logits kl_div soft_margin_loss "
                        "multilabel_soft_margin_loss hinge_embedding_loss margin_ranking_loss cosine_embedding_loss "
                        "multi_margin_loss multilabel_margin_loss triplet_margin_loss triplet_margin_with_distance_loss "
                        "ctc_loss",
}


@pytest.mark.parametrize("module", sorted(KEY_COVERAGE))
def test_key_modules_cover_their_torch_functions(module):
    """Does each answer-key module define every function it promises, each graded by a spec (or
    given as the forward of a graded hand-written backward, e.g. `softsign` for `softsign_backward`)?"""
    key = __import__(module, fromlist=["_"])
    graded = {p.function for a in ASSIGNMENTS for p in specs.load(a).problems if key_module(a).__name__ == module}
    for name in KEY_COVERAGE[module].split():
        assert callable(getattr(key, name, None)), f"{module} lacks {name}"
        assert name in graded or f"{name}_backward" in graded, f"{module}.{name} is not graded by any assignment"
