"""Are versions pinned in one place, mirrored by environment.yml, and actually installed?"""
import re
from importlib.metadata import version

from conftest import ROOT

PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", re.M)


def pins(path):
    return dict(PIN.findall((ROOT / path).read_text()))


def test_environment_yml_mirrors_requirements():
    """Does environment.yml pin exactly what requirements.txt pins?"""
    req, env = pins("requirements.txt"), pins("environment.yml")
    env.pop("python", None)
    assert req == env


def test_torch_is_pinned_to_the_cpu_wheel_on_disk():
    """Is torch pinned (an unpinned torch pulls a multi-GB CUDA build)?"""
    assert pins("requirements.txt")["torch"] == "2.13.0"


def test_installed_versions_match_the_pins():
    """Does the environment the tests run in have exactly the pinned versions?"""
    for name, pinned in pins("requirements.txt").items():
        assert version(name).split("+")[0] == pinned, name


def test_xdist_group_keeps_a_group_on_one_worker(tmp_path):
    """Do the suite's ``xdist_group`` marks work (module-scoped batches shared, not built twice
    and racing on shared output)? pytest 9.2 with pytest-xdist 3.8 silently split every group."""
    import subprocess
    import sys
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\npytestmark = pytest.mark.xdist_group('together')\n"
        "@pytest.mark.parametrize('i', range(8))\ndef test_member(i):\n    pass\n", encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider --dist loadgroup\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-v", "test_grouped.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    workers = {line.split()[0] for line in run.stdout.splitlines() if line.startswith("[gw")}
    assert run.returncode == 0 and len(workers) == 1, run.stdout[-2000:]
