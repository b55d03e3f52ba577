"""a01 张量与内存 / Tensors and memory: creation, dtype, sharing with NumPy, views."""
import numpy as np
import torch

from autograder.specs import Array, Assignment, Case, Device, Problem, Tensor

_rng = np.random.default_rng(2013)


def _normal(*shape, dtype=np.float64):
    return _rng.standard_normal(shape).astype(dtype)


def _ints(*shape, dtype=np.int64):
    return _rng.integers(-50, 50, size=shape).astype(dtype)


full_float64_like = Problem(
    function="full_float64_like",
    title_zh="与 x 形状、设备相同的 float64 常数张量",
    title_en="a float64 constant tensor shaped like x, on x's device",
    points=1.5,
    reference=lambda x, value: torch.full_like(x, value, dtype=torch.float64),
    cases=(
        Case("float32 (2, 3), value=1.5", (Tensor(_normal(2, 3), torch.float32), 1.5), visible=True),
        Case("int64 (4,), value=-2", (Tensor(_ints(4), torch.int64), -2)),
        Case("float64 0-d, value=0.25", (Tensor(_normal(), torch.float64), 0.25)),
        Case("float32 (0, 5), value=3", (Tensor(_normal(0, 5), torch.float32), 3)),
        Case("bool (3, 2) transposed, value=7", (Tensor(_ints(3, 2) > 0, torch.bool, transpose=True), 7)),
    ),
)

shared_from_numpy = Problem(
    function="shared_from_numpy",
    title_zh="与 NumPy 数组共享内存的张量",
    title_en="a tensor that shares memory with a NumPy array",
    points=1.5,
    reference=lambda a: torch.from_numpy(a),
    expect_shared=True,
    cases=(
        Case("float64 (3,)", (Array(_normal(3)),), visible=True, per_device=False, probe="mutate_input"),
        Case("float32 (2, 2)", (Array(_normal(2, 2, dtype=np.float32)),), per_device=False, probe="mutate_input"),
        Case("int32 (5,)", (Array(_ints(5, dtype=np.int32)),), per_device=False, probe="mutate_input"),
        Case("int64 (2, 3, 4)", (Array(_ints(2, 3, 4)),), per_device=False, probe="mutate_input"),
    ),
)

copied_from_numpy = Problem(
    function="copied_from_numpy",
    title_zh="复制 NumPy 数组、不共享内存的张量",
    title_en="a tensor that copies a NumPy array (no shared memory)",
    points=1.5,
    reference=lambda a: torch.tensor(a),
    expect_shared=False,
    cases=(
        Case("float64 (3,)", (Array(_normal(3)),), visible=True, per_device=False, probe="mutate_input"),
        Case("float32 (2, 2)", (Array(_normal(2, 2, dtype=np.float32)),), per_device=False, probe="mutate_input"),
        Case("int32 (5,)", (Array(_ints(5, dtype=np.int32)),), per_device=False, probe="mutate_input"),
        Case("int64 (2, 3, 4)", (Array(_ints(2, 3, 4)),), per_device=False, probe="mutate_input"),
    ),
)

linspace = Problem(
    function="linspace",
    title_zh="不调用 torch.linspace，手写等间距采样",
    title_en="evenly spaced points without torch.linspace",
    points=2.0,
    reference=lambda start, end, steps, device: torch.linspace(start, end, steps, device=device),
    forbidden=("linspace",),
    cases=(
        Case("0 -> 1, 5 steps", (0.0, 1.0, 5, Device()), visible=True),
        Case("-3 -> 7, 11 steps", (-3.0, 7.0, 11, Device())),
        Case("2 -> -2, 100 steps", (2.0, -2.0, 100, Device())),
        Case("1 step", (4.0, 9.0, 1, Device())),
        Case("0 steps", (0.0, 1.0, 0, Device())),
    ),
)

transpose_flatten = Problem(
    function="transpose_flatten",
    title_zh="把转置后的矩阵展平成一维",
    title_en="flatten the transpose of a matrix to 1-D",
    points=1.5,
    reference=lambda x: x.t().reshape(-1),
    cases=(
        Case("float32 (2, 3)", (Tensor(_normal(2, 3), torch.float32),), visible=True),
        Case("int64 (1, 5)", (Tensor(_ints(1, 5), torch.int64),)),
        Case("float64 (4, 4)", (Tensor(_normal(4, 4), torch.float64),)),
        Case("float32 (0, 3)", (Tensor(_normal(0, 3), torch.float32),)),
        Case("float32 (3, 2) already transposed", (Tensor(_normal(3, 2), torch.float32, transpose=True),)),
    ),
)

nbytes = Problem(
    function="nbytes",
    title_zh="张量元素占用的字节数（Python int）",
    title_en="bytes taken by a tensor's elements (a Python int)",
    points=1.0,
    reference=lambda x: x.numel() * x.element_size(),
    cases=(
        Case("float32 (3, 4)", (Tensor(_normal(3, 4), torch.float32),), visible=True),
        Case("float64 (3, 4)", (Tensor(_normal(3, 4), torch.float64),)),
        Case("int8 (10,)", (Tensor(_ints(10, dtype=np.int8), torch.int8),)),
        Case("bool (2, 2)", (Tensor(_ints(2, 2) > 0, torch.bool),)),
        Case("float16 (7,)", (Tensor(_normal(7), torch.float16),)),
        Case("int64 0-d", (Tensor(_ints(), torch.int64),)),
    ),
)

pick_device = Problem(
    function="pick_device",
    title_zh="有 CUDA 时选 cuda，否则选 cpu",
    title_en="choose cuda when available, else cpu",
    points=1.0,
    reference=lambda: torch.device("cuda" if torch.cuda.is_available() else "cpu"),
    cases=(Case("no arguments", (), visible=True, per_device=False),),
)

ASSIGNMENT = Assignment(
    name="a01_tensors",
    problems=(
        full_float64_like,
        shared_from_numpy,
        copied_from_numpy,
        linspace,
        transpose_flatten,
        nbytes,
        pick_device,
    ),
)
