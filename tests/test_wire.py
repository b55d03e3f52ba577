"""Does the wire between the sandbox and the judge say exactly what torch would?

The judge compares with NumPy instead of ``torch.testing.assert_close`` (a tenth of the cost)
and reads array bundles instead of ``.npz``; these tests hold both to the originals' answers
and make sure a bundle forged by student code cannot smuggle in anything but numbers.
"""
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import harness, judge

SPECIAL = st.sampled_from([0.0, -0.0, 1.0, 1e-6, 1e30, float("inf"), float("-inf"), float("nan")])
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), SPECIAL)


def torch_says(expected, got, rtol, atol) -> bool:
    try:
        torch.testing.assert_close(torch.from_numpy(got).double(), torch.from_numpy(expected).double(),
                                   rtol=rtol, atol=atol, equal_nan=True)
        return True
    except AssertionError:
        return False


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 6), elements=FLOATS), st.data(),
       st.sampled_from(["float32", "float64", "float16", "bfloat16"]))
def test_numpy_comparison_agrees_with_assert_close(expected, data, dtype):
    """For any values (NaN, infinities, signed zeros included), does the judge's comparison
    accept exactly what torch.testing.assert_close accepts?"""
    noise = data.draw(hnp.arrays(np.float32, expected.shape, elements=FLOATS))
    mix = data.draw(hnp.arrays(np.bool_, expected.shape))
    got = np.where(mix, expected, noise).astype(np.float32)
    rtol, atol = judge._tolerance(dtype)
    assert judge._values_match(expected, got, dtype) == torch_says(expected, got, rtol, atol)


def test_comparison_rejects_a_near_miss_and_accepts_rounding():
    """A deliberately weakened comparison (always True) fails this; so does an exact one."""
    e = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    assert judge._values_match(e, e + 1e-7, "float32")
    assert not judge._values_match(e, e + 1e-3, "float32")
    assert not judge._values_match(e, np.array([1.0, 2.0, np.nan], dtype=np.float32), "float32")


@given(st.dictionaries(st.text(min_size=1, max_size=8),
                       hnp.arrays(hnp.scalar_dtypes().filter(lambda d: d.kind in "biufc"),
                                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)), max_size=6))
@settings(max_examples=100, deadline=None)
def test_array_bundle_round_trips(tmp_path_factory, arrays):
    """Does every plain numeric array come back with the same dtype, shape and bits?"""
    path = tmp_path_factory.mktemp("bundle") / "a.bin"
    harness.write_arrays(path, arrays)
    back = harness.read_arrays(path)
    assert set(back) == set(arrays)
    for k, a in arrays.items():
        assert back[k].dtype == a.dtype and back[k].shape == a.shape
        assert back[k].tobytes() == np.ascontiguousarray(a).tobytes()


def forged(tmp_path, index: dict, body: bytes = b"\0" * 64):
    header = json.dumps(index).encode()
    path = tmp_path / "forged.bin"
    path.write_bytes(len(header).to_bytes(8, "little") + header + body)
    return path


@pytest.mark.parametrize("entry", [
    ["|O", [1], 0, 8],            # Python objects
    ["|V8", [1], 0, 8],           # raw void records
    [[["a", "<f4"]], [1], 0, 4],  # structured dtype
    ["<f4", [4], 0, 8],           # size does not match the shape
    ["<f4", [100], 0, 400],       # past the end of the file
    ["<f4", [-1], 0, 4],          # negative shape
    ["<f4", [2], -8, 8],          # negative offset
])
def test_forged_bundle_entries_are_refused(tmp_path, entry):
    """Can a bundle written by student code carry objects, or read outside itself? (No.)"""
    with pytest.raises((ValueError, TypeError)):
        harness.read_arrays(forged(tmp_path, {"x": entry}))


def test_student_written_files_are_read_bounded(tmp_path):
    """What the student's process wrote is read only as a regular file of bounded size: a huge
    (sparse) result, a link to another file, a FIFO (which would block a plain read) are refused."""
    import os

    from autograder.results import read_bounded

    ok = tmp_path / "ok.json"
    ok.write_text('{"cases": []}')
    assert read_bounded(ok, 100) == b'{"cases": []}'
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as f:
        f.truncate(300 << 20)
    link, fifo = tmp_path / "link.json", tmp_path / "fifo.json"
    os.symlink(ok, link)
    os.mkfifo(fifo)
    with pytest.raises(ValueError):
        read_bounded(huge, 256 << 20)
    with pytest.raises(OSError):  # O_NOFOLLOW
        read_bounded(link, 100)
    with pytest.raises(ValueError):
        read_bounded(fifo, 100)
