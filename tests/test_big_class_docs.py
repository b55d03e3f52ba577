"""The big-class examples the instructor guide points to load and say what the guide says."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import yaml

from autograder.pipeline import Course

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples" / "big_class"
COURSE = Path(__file__).resolve().parent.parent / "course"


def test_the_nbgrader_config_lines_give_postgresql_and_a_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADEBOOK_URL", "postgresql+psycopg://grader@db.test/course")
    monkeypatch.setenv("DASK_SCHEDULER", "tcp://head.test:8786")
    config = (COURSE / "nbgrader_config.py").read_text() + "\n" + (EXAMPLES / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(config)
    shutil.copytree(COURSE / "source", tmp_path / "source")
    course = Course(tmp_path)
    assert course.coursedir.db_url == "postgresql+psycopg://grader@db.test/course"
    assert course.settings().scheduler == "tcp://head.test:8786"
    assert course.settings().grading_devices() == ["cpu", "cuda"]


def test_ssh_workers_one_thread_each_and_gpu_hosts_declare_the_resource():
    script = (EXAMPLES / "ssh_workers.sh").read_text()
    subprocess.run(["bash", "-n", str(EXAMPLES / "ssh_workers.sh")], check=True)
    workers = [line for line in script.splitlines() if "dask\" worker" in line]
    assert len(workers) == 2 and all("--nthreads 1" in w for w in script.split("ssh ")[1:])
    assert "--resources GPU=1" in script.split("GPU_HOSTS; do")[1]


def test_kubernetes_workers_one_thread_each_and_a_gpu_group():
    docs = list(yaml.safe_load_all((EXAMPLES / "kubernetes.yaml").read_text()))
    cluster, gpu = docs
    assert cluster["kind"] == "DaskCluster" and gpu["kind"] == "DaskWorkerGroup"
    assert gpu["spec"]["cluster"] == cluster["metadata"]["name"]
    for group in (cluster["spec"]["worker"], gpu["spec"]["worker"]):
        [container] = group["spec"]["containers"]
        args = container["args"]
        assert args[args.index("--nthreads") + 1] == "1"
        assert "SYS_ADMIN" in container["securityContext"]["capabilities"]["add"]
    [gpu_container] = gpu["spec"]["worker"]["spec"]["containers"]
    assert gpu_container["args"][gpu_container["args"].index("--resources") + 1] == "GPU=1"
    assert gpu_container["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_slurm_gpu_jobs_ask_for_a_gpu_and_declare_the_resource():
    spec = importlib.util.spec_from_file_location("slurm_cluster", EXAMPLES / "slurm_cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    script = module.gpu_worker_script({"host": "127.0.0.1", "port": 0})
    assert "#SBATCH --gres=gpu:1" in script
    assert "--resources GPU=1" in script and "--nthreads 1" in script
