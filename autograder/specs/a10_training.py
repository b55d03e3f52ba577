"""a10 训练 / Training: an SGD step (momentum, dampening, Nesterov, weight decay, maximize), an Adam step (bias
correction, coupled or decoupled weight decay, maximize), the closed forms of five learning-rate schedulers, and a
mini-batch training loop that puts them together.

Optimizers cannot cross the sandbox boundary, so each problem is a pure function of tensors and numbers: the
parameters, their gradients and the optimizer state go in as tuples of tensors, the new parameters and state come
back. The references build the real ``torch.optim.SGD`` / ``torch.optim.Adam`` (state written into
``optimizer.state``), the real ``torch.optim.lr_scheduler`` classes, and for the loop train with both on the judge's
side; the student's code may not use ``torch.optim`` at all.

How ``torch.optim`` is detected from what runs (the recorders see torch functions and aten operators, not Python
modules): every ``Optimizer.step()`` and ``zero_grad()`` enters a profiler range (``_record_function_enter_new``
and ``_record_function_exit`` are dispatched even with the profiler off); the multi-tensor and fused
implementations (the default on CUDA, or ``foreach=True`` / ``fused=True``) run ``_foreach_*`` / ``_fused_*``
kernels; and Adam's single-tensor code, also reached through ``torch.optim._functional.adam``, updates the first
moment with ``lerp_``. Known gap, stated in the notebook's rules and kept off the scoreboard: the single-tensor
functional SGD (``torch.optim._functional.sgd``) and a learning-rate scheduler stepped without any optimizer step
run only elementary operators or none at all, so only a Python-level recorder could see them.
"""
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from autograder.specs import Assignment, Case, Problem, Tensor

_rng = np.random.default_rng(2410)
F32, F64, I64 = torch.float32, torch.float64, torch.int64

_OPTIMIZER_KERNELS = tuple(sorted({
    name.split("::", 1)[1].split(".", 1)[0] for name in torch._C._dispatch_get_all_op_names()
    if name.startswith("aten::_foreach_")
} | {f"_fused_{o}{s}" for o in ("sgd", "adam", "adamw", "adagrad") for s in ("", "_")}))
# What torch.optim leaves in the call record (see the module docstring): the profiler range of every
# Optimizer.step() / zero_grad(), the foreach and fused kernels, and the lerp_ of Adam's first moment.
OPTIM_TRACES = ("_record_function_enter", "_record_function_enter_new", "_record_function_exit",
                "lerp", "lerp_", *_OPTIMIZER_KERNELS)


def _t(data, dtype=F64, **kw):
    return Tensor(np.asarray(data, dtype=np.float64), dtype, **kw)


def _normal(*shape, scale=1.0):
    return _rng.standard_normal(shape) * scale


def _shape_name(shapes) -> str:
    return " ".join("0-d" if s == () else str(tuple(s)) for s in shapes)


def _params(shapes, dtype, transpose=()):
    return tuple(_t(_normal(*s), dtype, transpose=i in transpose) for i, s in enumerate(shapes))


def _grads(shapes, dtype, none=(), scale=1.0):
    return tuple(None if i in none else _t(_normal(*s, scale=scale), dtype) for i, s in enumerate(shapes))


# ------------------------------------------------------------------ 1. one SGD step with momentum

def _sgd_reference(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                   nesterov=False, maximize=False):
    leaves = [p.detach().clone() for p in params]
    for p, g in zip(leaves, grads):
        p.grad = None if g is None else g.detach().clone()
    opt = torch.optim.SGD(leaves, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                          nesterov=nesterov, maximize=maximize)
    for p, buf in zip(leaves, momentum_buffers):
        if buf is not None:
            opt.state[p]["momentum_buffer"] = buf.detach().clone()
    opt.step()
    return tuple(leaves), tuple(opt.state[p].get("momentum_buffer") for p in leaves)


def _sgd_case(name, shapes, lr, dtype=F64, buffers=False, none=(), transpose=(), visible=False, **kw):
    """``buffers``: False (the first step: every buffer None), True (a buffer from earlier steps for each
    parameter), or a tuple of flags per parameter."""
    flags = (buffers,) * len(shapes) if isinstance(buffers, bool) else buffers
    bufs = tuple(_t(_normal(*s), dtype) if f else None for s, f in zip(shapes, flags))
    opts = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    label = f"{str(dtype).removeprefix('torch.')} {_shape_name(shapes)}, lr={lr}" + (f", {opts}" if opts else "")
    return Case(f"{label}: {name}", (_params(shapes, dtype, transpose), _grads(shapes, dtype, none), bufs, lr), kw,
                visible=visible)


sgd_momentum_step = Problem(
    function="sgd_momentum_step",
    title_zh="一步 SGD：动量、阻尼、Nesterov、权重衰减",
    title_en="one SGD step: momentum, dampening, Nesterov, weight decay",
    points=3.0,
    reference=_sgd_reference,
    forbidden=OPTIM_TRACES,
    cases=(
        _sgd_case("first step, buffers start as copies", [(3, 4)], 0.1, dtype=F32, momentum=0.9, visible=True),
        _sgd_case("buffers from earlier steps", [(4,), (2, 3)], 0.05, buffers=True, momentum=0.9, weight_decay=0.01,
                  visible=True),
        _sgd_case("momentum=0: plain SGD, buffers stay None", [(5,), ()], 0.1),
        _sgd_case("momentum=0 with weight decay", [(3, 2)], 0.2, weight_decay=0.1),
        _sgd_case("weight decay before momentum, first step", [(6,)], 0.1, momentum=0.8, weight_decay=0.5),
        _sgd_case("weight decay before momentum, later step", [(6,), (2, 2)], 0.1, buffers=True, momentum=0.8,
                  weight_decay=0.5),
        _sgd_case("dampening on a later step", [(4, 3)], 0.1, buffers=True, momentum=0.9, dampening=0.5),
        _sgd_case("dampening on the first step: the first buffer is not damped", [(4, 3)], 0.1, momentum=0.9,
                  dampening=0.5),
        _sgd_case("dampening=1: later gradients no longer enter the buffer", [(5,)], 0.1, buffers=True, momentum=0.9,
                  dampening=1.0),
        _sgd_case("Nesterov, first step", [(5,), (3,)], 0.1, momentum=0.9, nesterov=True),
        _sgd_case("Nesterov, later step", [(5,), (3,)], 0.1, buffers=True, momentum=0.9, nesterov=True),
        _sgd_case("Nesterov with weight decay", [(2, 4)], 0.05, buffers=True, momentum=0.7, nesterov=True,
                  weight_decay=0.1),
        _sgd_case("maximize: ascend, decay still pulls towards 0", [(4,)], 0.1, maximize=True, weight_decay=0.3),
        _sgd_case("maximize with momentum", [(3, 3)], 0.1, buffers=True, momentum=0.9, maximize=True,
                  weight_decay=0.1),
        _sgd_case("a parameter without a gradient (None) is left alone", [(3,), (2,), (4,)], 0.1,
                  buffers=(True, True, False), none=(1,), momentum=0.9, weight_decay=0.2),
        _sgd_case("no gradient and no buffer yet", [(3,), (2,)], 0.1, none=(0,), momentum=0.9),
        _sgd_case("float32, three parameters", [(8, 4), (8,), (1, 8)], 0.01, dtype=F32, buffers=True, momentum=0.95,
                  weight_decay=1e-4),
        _sgd_case("0-d parameter", [()], 0.3, buffers=True, momentum=0.5, dampening=0.1),
        _sgd_case("empty parameter (0, 3)", [(0, 3), (2,)], 0.1, buffers=True, momentum=0.9, weight_decay=0.1),
        _sgd_case("non-contiguous parameter", [(4, 5)], 0.1, buffers=True, transpose=(0,), momentum=0.9,
                  weight_decay=0.05),
    ),
)


# ------------------------------------------------------------------ 2. one Adam step

def _adam_reference(params, grads, exp_avgs, exp_avg_sqs, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                    weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    leaves = [p.detach().clone() for p in params]
    for p, g in zip(leaves, grads):
        p.grad = None if g is None else g.detach().clone()
    opt = torch.optim.Adam(leaves, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                           decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    for p, m, v, s in zip(leaves, exp_avgs, exp_avg_sqs, steps):
        opt.state[p].update(step=torch.tensor(float(s)), exp_avg=m.detach().clone(), exp_avg_sq=v.detach().clone())
    opt.step()
    state = [opt.state[p] for p in leaves]
    return (tuple(leaves), tuple(s["exp_avg"] for s in state), tuple(s["exp_avg_sq"] for s in state),
            tuple(int(s["step"].item()) for s in state))


def _adam_case(name, shapes, steps, dtype=F64, none=(), transpose=(), grad_scale=1.0, visible=False, **kw):
    """``steps``: how many steps each parameter has taken before (0: fresh state, moments zero)."""
    steps = (steps,) * len(shapes) if isinstance(steps, int) else tuple(steps)
    m = tuple(_t(_normal(*s, scale=0.3 * grad_scale) if k else np.zeros(s), dtype) for s, k in zip(shapes, steps))
    v = tuple(_t((_normal(*s, scale=0.5 * grad_scale) ** 2) if k else np.zeros(s), dtype)
              for s, k in zip(shapes, steps))
    opts = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    label = f"{str(dtype).removeprefix('torch.')} {_shape_name(shapes)}, steps before {steps}" + (f", {opts}" if opts else "")
    args = (_params(shapes, dtype, transpose), _grads(shapes, dtype, none, grad_scale), m, v, steps)
    return Case(f"{label}: {name}", args, kw, visible=visible)


adam_step = Problem(
    function="adam_step",
    title_zh="一步 Adam：偏差修正与两种权重衰减",
    title_en="one Adam step: bias correction and two kinds of weight decay",
    points=3.0,
    reference=_adam_reference,
    forbidden=OPTIM_TRACES,
    cases=(
        _adam_case("the first step from a fresh state", [(3, 4)], 0, dtype=F32, lr=0.1, visible=True),
        _adam_case("later steps, L2 weight decay", [(4,), (2, 3)], 3, lr=0.01, weight_decay=0.1, visible=True),
        _adam_case("defaults", [(5,), ()], 0),
        _adam_case("step 10, other betas", [(6,)], 10, lr=0.05, betas=(0.8, 0.99)),
        _adam_case("step 1000: bias correction almost 1", [(3, 2)], 1000, lr=0.01),
        _adam_case("tiny gradients: where eps goes matters", [(5,)], 2, lr=0.1, grad_scale=1e-7),
        _adam_case("large eps", [(4,)], 4, lr=0.1, eps=0.1),
        _adam_case("L2 weight decay on the first step", [(4, 2)], 0, lr=0.01, weight_decay=0.5),
        _adam_case("decoupled weight decay (AdamW)", [(4, 2)], 5, lr=0.01, weight_decay=0.5,
                   decoupled_weight_decay=True),
        _adam_case("decoupled weight decay, first step", [(3,), (2, 2)], 0, lr=0.1, weight_decay=0.1,
                   decoupled_weight_decay=True),
        _adam_case("maximize", [(5,)], 2, lr=0.1, maximize=True),
        _adam_case("maximize with L2 weight decay", [(3, 3)], 1, lr=0.05, maximize=True, weight_decay=0.2),
        _adam_case("a parameter without a gradient keeps its state and step", [(3,), (2,), (4,)], (2, 7, 0),
                   none=(1,), lr=0.01, weight_decay=0.1),
        _adam_case("parameters at different steps", [(3,), (2, 2)], (0, 9), lr=0.02),
        _adam_case("float32, three parameters", [(8, 4), (8,), (1, 8)], 6, dtype=F32, lr=1e-3, weight_decay=1e-2,
                   decoupled_weight_decay=True),
        _adam_case("0-d parameter", [()], 3, lr=0.1),
        _adam_case("empty parameter (0, 3)", [(0, 3), (2,)], 1, lr=0.1, weight_decay=0.1),
        _adam_case("non-contiguous parameter", [(4, 5)], 2, transpose=(0,), lr=0.01),
    ),
)


# ------------------------------------------------------------------ 3. learning-rate schedulers in closed form

def _scheduler(kind, opt, step_size=None, gamma=0.1, milestones=(), T_max=None, eta_min=0.0, start_factor=1 / 3,
               end_factor=1.0, total_iters=5):
    S = torch.optim.lr_scheduler
    if kind == "step":
        return S.StepLR(opt, step_size=step_size, gamma=gamma)
    if kind == "multistep":
        return S.MultiStepLR(opt, milestones=list(milestones), gamma=gamma)
    if kind == "exponential":
        return S.ExponentialLR(opt, gamma=gamma)
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    if kind == "linear":
        return S.LinearLR(opt, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)
    raise ValueError(f"unknown scheduler kind {kind!r}")


def _lr_reference(kind, base_lr, epoch, **options):
    param = torch.zeros(1, requires_grad=True)          # no gradient: optimizer.step() leaves it alone
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = _scheduler(kind, opt, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epoch):
            opt.step()
            sched.step()
    return float(opt.param_groups[0]["lr"])


def _lr_cases(kind, base_lr, epochs, visible=(), **options):
    label = ", ".join([f"{kind!r}, base_lr={base_lr}"] + [f"{k}={v!r}" for k, v in options.items()])
    return tuple(Case(f"{label}, epoch {e}", (kind, base_lr, e), dict(options),
                      visible=e in visible, per_device=False) for e in epochs)


scheduled_lr = Problem(
    function="scheduled_lr",
    title_zh="学习率调度器的闭式：StepLR、MultiStepLR、ExponentialLR、CosineAnnealingLR、LinearLR",
    title_en="learning-rate schedulers in closed form: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR",
    points=2.0,
    reference=_lr_reference,
    forbidden=OPTIM_TRACES,
    cases=(
        *_lr_cases("step", 0.1, (0, 2, 3, 7, 9), visible=(3,), step_size=3, gamma=0.5),
        *_lr_cases("step", 1.0, (0, 1, 4), step_size=1, gamma=0.9),
        *_lr_cases("multistep", 0.1, (0, 2, 3, 5, 6, 20), visible=(5,), milestones=(2, 5), gamma=0.1),
        *_lr_cases("multistep", 0.5, (3, 4, 7, 8), milestones=(7, 3, 7), gamma=0.5),
        *_lr_cases("exponential", 0.2, (0, 1, 5, 30), visible=(5,), gamma=0.9),
        *_lr_cases("cosine", 0.1, (0, 1, 5, 9, 10), visible=(5,), T_max=10, eta_min=0.001),
        *_lr_cases("cosine", 0.05, (0, 3, 6, 7, 11, 12, 15), T_max=6),
        *_lr_cases("linear", 0.1, (0, 1, 3, 5, 9), visible=(3,), start_factor=0.25, total_iters=4),
        *_lr_cases("linear", 0.2, (0, 2, 5), start_factor=1.0, end_factor=0.0, total_iters=5),
        *_lr_cases("linear", 0.3, (0, 4, 5, 6)),
    ),
)


# ------------------------------------------------------------------ 4. a mini-batch training loop

def _mlp_logits(x, W1, b1, W2, b2):
    return F.linear(torch.tanh(F.linear(x, W1, b1)), W2, b2)


def _train_reference(X, y, params, epochs, batch_size, lr, optimizer="sgd", momentum=0.0, dampening=0.0,
                     nesterov=False, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8, decoupled_weight_decay=False,
                     schedule=None, **schedule_options):
    leaves = [p.detach().clone().requires_grad_() for p in params]
    if optimizer == "sgd":
        opt = torch.optim.SGD(leaves, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                              weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(leaves, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                               decoupled_weight_decay=decoupled_weight_decay)
    sched = _scheduler(schedule, opt, **schedule_options) if schedule is not None else None
    losses = []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            loss = F.cross_entropy(_mlp_logits(X[start:start + batch_size], *leaves), y[start:start + batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        if sched is not None:
            sched.step()
    return tuple(p.detach() for p in leaves), (torch.stack(losses) if losses else X.new_zeros(0))


def _train_case(name, epochs, batch_size, lr, N=24, D=4, H=8, C=3, dtype=F64, visible=False, **kw):
    X = _normal(N, D)
    teacher = _normal(D, C)
    y = np.argmax(X @ teacher + 0.3 * _normal(N, C), axis=1)
    params = (_t(_normal(H, D, scale=0.5), dtype), _t(_normal(H, scale=0.1), dtype),
              _t(_normal(C, H, scale=0.5), dtype), _t(_normal(C, scale=0.1), dtype))
    opts = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    label = f"{str(dtype).removeprefix('torch.')} N={N}, batch_size={batch_size}, {epochs} epochs, lr={lr}" + \
        (f", {opts}" if opts else "")
    return Case(f"{label}: {name}", (_t(X, dtype), Tensor(y.astype(np.int64), I64), params, epochs, batch_size, lr), kw,
                visible=visible)


train_mlp = Problem(
    function="train_mlp",
    title_zh="小批量训练循环：你的优化器和调度器",
    title_en="a mini-batch training loop with your optimizer and scheduler",
    points=3.0,
    reference=_train_reference,
    forbidden=OPTIM_TRACES,
    cases=(
        _train_case("plain SGD", 2, 8, 0.5, dtype=F32, visible=True),
        _train_case("momentum, weight decay, StepLR", 3, 8, 0.2, momentum=0.9, weight_decay=1e-3, schedule="step",
                    step_size=1, gamma=0.5, visible=True),
        _train_case("Adam", 3, 8, 0.05, optimizer="adam", visible=True),
        _train_case("last batch smaller (24 = 10 + 10 + 4)", 2, 10, 0.3, momentum=0.5),
        _train_case("one full batch per epoch", 5, 24, 0.5, momentum=0.9, nesterov=True),
        _train_case("batch larger than the data", 3, 50, 0.5),
        _train_case("dampening and cosine annealing", 4, 6, 0.3, momentum=0.9, dampening=0.3, schedule="cosine",
                    T_max=3),
        _train_case("Adam, L2 weight decay, MultiStepLR", 4, 8, 0.05, optimizer="adam", weight_decay=0.01,
                    schedule="multistep", milestones=(1, 3), gamma=0.3),
        _train_case("AdamW-style decay, other betas, linear warmup", 4, 8, 0.05, optimizer="adam", weight_decay=0.1,
                    decoupled_weight_decay=True, betas=(0.8, 0.95), schedule="linear", start_factor=0.2,
                    total_iters=3),
        _train_case("Adam, ExponentialLR, batch of 1", 1, 1, 0.01, N=6, optimizer="adam", schedule="exponential",
                    gamma=0.7),
        _train_case("0 epochs: the initial parameters, no losses", 0, 8, 0.1, momentum=0.9),
        _train_case("float32 Adam", 3, 8, 0.01, dtype=F32, optimizer="adam", eps=1e-6),
    ),
)


ASSIGNMENT = Assignment("a10_training", (
    sgd_momentum_step,
    adam_step,
    scheduled_lr,
    train_mlp,
))
