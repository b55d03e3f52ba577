"""Does the answer key agree with torch on the sample inputs PyTorch's own test suite uses?

Every public function of ``solutions.activations``, ``solutions.layers`` and ``solutions.losses`` is
matched by name with the OpInfo entries of ``torch.testing._internal.common_methods_invocations.op_db``
(``nn.functional.<name>``, or ``<name>`` for ``softmax``, ``log_softmax``, ``sigmoid``, ``tanh``), and run
on every sample input those entries generate on CPU in float32 and float64: the value, the gradient with
respect to every input that requires one, and arguments torch updates in place (batch norm's running
statistics) are compared with torch's own function. Zero-size tensors are among those samples.

Random results (dropout and RReLU while training) cannot be compared value by value: they are held to
their defining property instead. A sample whose options the key does not support is skipped only by a
rule in ``SKIPS`` that says why; the test lists every skip with its reason, and a rule that no longer
matches anything fails (the list stays honest). Key functions without an OpInfo (the hand-written
backward passes) are listed in ``NO_OPINFO`` with the reason.

``torch.testing._internal`` changes global torch state when imported (``torch.backends.disable_global_flags()``),
so the comparison runs in a subprocess: this file, run as a script, prints one JSON report.
"""
from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_MODULES = ("solutions.activations", "solutions.layers", "solutions.losses")
DTYPES = ("float32", "float64")
TORCH_NAMES = {"softmax": "softmax", "log_softmax": "log_softmax", "sigmoid": "sigmoid", "tanh": "tanh"}

# key function -> why no OpInfo can check it (each is graded against torch's autograd by its own spec instead)
NO_OPINFO = {
    name: "a hand-written backward pass: torch has no public function of that name; its spec compares it with autograd"
    for name in ("logsigmoid_backward", "softsign_backward", "softplus_backward", "gelu_backward",
                 "cross_entropy_backward", "binary_cross_entropy_with_logits_backward", "batch_norm_backward",
                 "cosine_embedding_loss_backward", "gaussian_nll_loss_backward", "ctc_loss_backward")
}
NO_OPINFO["batch_hard_triplet_loss"] = ("no torch function mines triplets: its spec mines with F.pairwise_distance and scores "
                                        "with F.triplet_margin_loss")

# key function -> [(rule name, predicate on (sample args, kwargs), reason)]: samples with options the key does
# not support. Empty today: every option torch's samples use is supported. A rule is written as code so that
# the report can count what it skipped.
SKIPS: dict[str, list[tuple[str, object, str]]] = {}


def key_functions() -> dict[str, object]:
    """Every public function the answer-key modules define (imported helpers and classes aside)."""
    import importlib
    out = {}
    for module_name in KEY_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if isinstance(value, types.FunctionType) and not name.startswith("_") and value.__module__ == module_name:
                out[name] = value
    return out


# ------------------------------------------------------------------ the comparison (run as a subprocess)

@functools.cache
def _tolerance(dtype, name=None):
    """The course's tolerance for a dtype, or the graded problem's own where its spec sets one (torch rounds
    a constant to float32 in hardsigmoid's and celu's gradients)."""
    from autograder import specs
    from autograder.keygen import SOURCE
    for path in sorted(SOURCE.glob("*/*.ipynb")):
        try:
            problem = specs.load(path.parent.name).problem(name)
        except KeyError:
            continue
        if problem.tolerances and dtype in problem.tolerances:
            return problem.tolerances[dtype]
    return specs.TOLERANCES[dtype]


def _clone(value, dtype=None):
    """A fresh copy of a sample argument: tensors detached and cloned (leaves again where they required
    grad), floating-point ones cast to ``dtype`` when given."""
    import torch
    if isinstance(value, torch.Tensor):
        t = value.detach().clone()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        return t.requires_grad_(value.requires_grad)
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v, dtype) for v in value)
    return value


def _leaves(args, kwargs):
    import torch
    found = []
    for v in list(args) + list(kwargs.values()):
        if isinstance(v, torch.Tensor) and v.requires_grad and v.is_floating_point():
            found.append(v)
    return found


def _call(fn, sample, preprocess, dtype=None):
    """fn on a fresh copy of the sample (cast to ``dtype`` if given); returns (output, gradients of the
    leaves, tensors after the call)."""
    import torch
    from autograder import harness
    inp = _clone(sample.input, dtype)
    args = [_clone(a, dtype) for a in sample.args]
    kwargs = {k: _clone(v, dtype) for k, v in sample.kwargs.items()}
    leaves = _leaves([inp, *args], kwargs)
    x = torch.log_softmax(inp, dim=-1) if preprocess == "log_softmax" else inp
    out = fn(x, *args, **kwargs)
    grads = None
    if isinstance(out, torch.Tensor) and out.requires_grad and leaves:
        pattern = harness.grad_pattern(out.shape, out.dtype, out.device)
        grads = torch.autograd.grad((out * pattern).sum(), leaves, allow_unused=True)
        grads = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves)]
    after = [a.detach().clone() for a in args if isinstance(a, torch.Tensor)]
    return out, grads, after


def _as64(result):
    import torch
    out, grads, after = result

    def up(t):
        return t.detach().double() if isinstance(t, torch.Tensor) and t.is_floating_point() else t
    return up(out), None if grads is None else [up(g) for g in grads], [up(a) for a in after]


def _error(result, exact) -> float:
    """The largest absolute difference from the exact (float64) result, over value, gradients and updates."""
    import torch
    out, grads, after = _as64(result)
    pairs = [(out, exact[0])] + list(zip(grads or [], exact[1] or [])) + list(zip(after, exact[2]))
    worst = 0.0
    for g, e in pairs:
        if isinstance(g, torch.Tensor) and isinstance(e, torch.Tensor) and g.numel():
            d = (g - e).abs()
            d = torch.where(torch.isnan(g) & torch.isnan(e), torch.zeros_like(d), d)
            worst = max(worst, float(d.max()) if not torch.isnan(d).any() else math.inf)
    return worst


def _mismatch(got, expected, rtol, atol):
    """None if value, gradients and in-place updates agree; else what differs (with torch's numbers)."""
    import torch
    parts = (("value", got[0], expected[0]), ("gradient", got[1], expected[1]),
             ("arguments updated in place", got[2], expected[2]))
    for what, g, e in parts:
        if (g is None) != (e is None):
            return f"{what}: one side has none"
        if e is None:
            continue
        try:
            torch.testing.assert_close(g, e, rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            return f"{what}: " + "; ".join(lines[:1] + [line for line in lines if line.startswith("Greatest")])
    return None


def _random_property(name, sample, out):
    """For samples whose result is random: None if ``out`` has the defining property, else what is wrong."""
    import torch
    x = sample.input.detach()
    got = out.detach()
    if got.shape != x.shape or got.dtype != x.dtype:
        return f"shape/dtype {tuple(got.shape)} {got.dtype} instead of {tuple(x.shape)} {x.dtype}"
    if name == "dropout":
        p = sample.kwargs.get("p", sample.args[0] if sample.args else 0.5)
        kept = got != 0
        rtol, atol = _tolerance(x.dtype)
        if not torch.allclose(got[kept], x[kept] / (1 - p), rtol=rtol, atol=atol):
            return "kept elements are not x / (1 - p)"
        return None
    if name == "rrelu":
        lower = sample.kwargs.get("lower", 1 / 8)
        upper = sample.kwargs.get("upper", 1 / 3)
        pos = x >= 0
        if not torch.equal(got[pos], x[pos]):
            return "non-negative elements changed"
        neg = x < 0
        ratio = got[neg] / x[neg]
        if not bool(((ratio >= lower - 1e-6) & (ratio <= upper + 1e-6)).all()):
            return "a negative element's slope is outside [lower, upper]"
        return None
    return f"no property check for {name}"


def _is_random(name, sample) -> bool:
    kw = sample.kwargs
    if name == "dropout":
        p = kw.get("p", sample.args[0] if sample.args else 0.5)
        training = kw.get("training", sample.args[1] if len(sample.args) > 1 else True)
        return bool(training) and 0 < p < 1
    if name == "rrelu":
        return bool(kw.get("training", False))
    return False


def _describe(sample) -> str:
    import torch

    def d(v):
        if isinstance(v, torch.Tensor):
            return f"Tensor{tuple(v.shape)}"
        if isinstance(v, (list, tuple)):
            return type(v).__name__ + "(" + ", ".join(d(x) for x in v) + ")"
        return repr(v)
    return f"input={d(sample.input)} args={d(sample.args)} kwargs={{{', '.join(f'{k}={d(v)}' for k, v in sample.kwargs.items())}}}"


def compare_all() -> dict:
    import unittest
    import warnings

    sys.modules.setdefault("expecttest", types.SimpleNamespace(TestCase=unittest.TestCase))  # torch's test-only dep
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    torch.set_num_threads(1)
    keys = key_functions()
    ops: dict[str, list] = {}
    for op in op_db:
        name = op.name.removeprefix("nn.functional.")
        if name in keys and (op.name.startswith("nn.functional.") or TORCH_NAMES.get(name) == op.name):
            ops.setdefault(name, []).append(op)
    report = {"functions": {}, "no_opinfo": sorted(set(keys) - set(ops))}
    for name in sorted(ops):
        entry = {"ops": sorted({f"{o.name}" + (f".{o.variant_test_name}" if o.variant_test_name else "") for o in ops[name]}),
                 "compared": 0, "gradients": 0, "zero_size": 0, "random": 0, "closer_than_torch_float32": 0, "rejected_by_torch": 0,
                 "skipped": {}, "failures": []}
        preprocess = "log_softmax" if name == "ctc_loss" else None
        for op in ops[name]:
            for dtype_name in DTYPES:
                dtype = getattr(torch, dtype_name)
                if dtype not in op.supported_dtypes("cpu"):
                    continue
                torch.manual_seed(0)
                for sample in op.sample_inputs("cpu", dtype, requires_grad=True):
                    rule = next((r for r in SKIPS.get(name, ()) if r[1](sample.args, sample.kwargs)), None)
                    if rule:
                        entry["skipped"][rule[0]] = entry["skipped"].get(rule[0], 0) + 1
                        continue
                    where = f"{op.name} {dtype_name} {_describe(sample)}"
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        try:
                            expected = _call(op.op, sample, preprocess)
                        except Exception:  # noqa: BLE001 - a sample torch itself rejects says nothing: counted
                            entry["rejected_by_torch"] += 1
                            continue
                        try:
                            got = _call(keys[name], sample, preprocess)
                        except Exception as exc:  # noqa: BLE001 - the key's error is the finding
                            entry["failures"].append(f"{where}: the key raised {type(exc).__name__}: {str(exc)[:120]}")
                            continue
                    entry["compared"] += 1
                    if isinstance(sample.input, torch.Tensor) and sample.input.numel() == 0:
                        entry["zero_size"] += 1
                    rtol, atol = _tolerance(dtype, name)
                    if _is_random(name, sample):
                        entry["random"] += 1
                        problem = _random_property(name, sample, got[0])
                        if problem:
                            entry["failures"].append(f"{where}: {problem}")
                        continue
                    mismatch = _mismatch(got, expected, rtol, atol)
                    if mismatch and dtype == torch.float32:
                        # torch's own float32 kernel rounds differently (CTC's sums over 50 frames, layer norm's mean
                        # of one element times 1/sqrt(eps)): accept the key if it is within tolerance of the exact
                        # (float64) result, or no farther from it than torch's float32 result is
                        try:
                            exact = _call(op.op, sample, preprocess, torch.float64)
                        except Exception:  # noqa: BLE001 - no exact result to compare with
                            exact = None
                        if exact is not None and (not _mismatch(_as64(got), exact, rtol, atol)
                                                  or _error(got, exact) <= _error(expected, exact)):
                            entry["closer_than_torch_float32"] += 1  # no farther from the exact result than torch
                            mismatch = None
                    if mismatch:
                        entry["failures"].append(f"{where}: {mismatch}")
                    elif expected[1] is not None:
                        entry["gradients"] += 1
        report["functions"][name] = entry
    return report


# ------------------------------------------------------------------ the tests

@pytest.fixture(scope="module")
def report():
    done = subprocess.run([sys.executable, __file__], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mirrored() -> list[str]:
    sys.path.insert(0, str(ROOT))
    return sorted(set(key_functions()) - set(NO_OPINFO))


@pytest.mark.parametrize("name", _mirrored())
def test_key_matches_torch_on_its_own_sample_inputs(report, name):
    """On every OpInfo sample input of the matching torch op (float32 and float64, CPU, zero-size
    tensors included): the same value, gradients and in-place updates, or for a random result the
    defining property? Skips only by a listed rule, and they are printed."""
    entry = report["functions"].get(name)
    assert entry is not None, f"no OpInfo in op_db matches solutions' {name}: add it to NO_OPINFO with a reason"
    extras = {"with gradients": entry["gradients"], "zero-size": entry["zero_size"],
              "random, held to their property": entry["random"],
              "float32, no farther from torch's float64 result than torch's own float32": entry["closer_than_torch_float32"],
              "rejected by torch itself": entry["rejected_by_torch"]}
    skipped = [f"{rule} x{n} ({next(r[2] for r in SKIPS[name] if r[0] == rule)})" for rule, n in entry["skipped"].items()]
    print(f"\n{name}: {entry['compared']} samples via {', '.join(entry['ops'])}: "
          + ", ".join(f"{n} {what}" for what, n in extras.items() if n) + f"; skipped: {', '.join(skipped) or 'none'}")
    assert not entry["failures"], "\n".join(entry["failures"][:10])
    assert entry["compared"] > 0


def test_every_skip_rule_still_matches_something(report):
    """Is every rule in SKIPS still needed (a rule that skips nothing must be deleted, not kept)?"""
    for name, rules in SKIPS.items():
        used = report["functions"].get(name, {}).get("skipped", {})
        for rule, _, reason in rules:
            assert used.get(rule), f"{name}: skip rule {rule!r} ({reason}) matches no sample any more"


def test_functions_without_opinfo_are_exactly_the_listed_ones(report):
    """Does every key function without an OpInfo have a listed reason, and is no listed one stale?"""
    assert set(report["no_opinfo"]) == set(NO_OPINFO)


def test_zero_size_samples_are_among_those_compared(report):
    """Do torch's samples really exercise zero-size tensors, where the key once failed (softmin over an
    empty dim, batch_norm of shape (0,))?"""
    for name in ("softmin", "softmax", "log_softmax", "batch_norm"):
        assert report["functions"][name]["zero_size"] > 0, name


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    result = compare_all()
    print(json.dumps(result, default=lambda o: None if isinstance(o, float) and math.isnan(o) else str(o)))
