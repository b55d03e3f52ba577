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
