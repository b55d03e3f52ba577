"""A Dask cluster on SLURM (dask-jobqueue) / 在 SLURM 上运行 Dask 集群.

    .venv/bin/python docs/examples/big_class/slurm_cluster.py   # prints the address, keeps the jobs

Then, from the course: ``make grade SCHEDULER=<printed address>``. Each SLURM job is one Dask
worker with one thread (one notebook at a time, one warm sandboxed grader); the GPU partition's
jobs declare the resource that CUDA notebooks ask for. Grading needs root (fork sandbox) or
bubblewrap with user namespaces on the compute nodes; without either the grader refuses.
"""
from __future__ import annotations

import time

from dask_jobqueue import SLURMCluster

WORKER = ["--nthreads", "1", "--memory-limit", "0", "--no-dashboard"]


def cpu_cluster(jobs: int = 8, scheduler_options: dict | None = None) -> SLURMCluster:
    cluster = SLURMCluster(queue="cpu", cores=1, processes=1, memory="8GB", walltime="02:00:00",
                           job_extra_directives=["--exclusive=user"], worker_extra_args=WORKER,
                           scheduler_options=scheduler_options or {"port": 8786})
    cluster.scale(jobs=jobs)
    return cluster


def gpu_worker_script(scheduler_options: dict | None = None) -> str:
    """The job script of a GPU worker (one GPU, the GPU=1 resource)."""
    gpu = SLURMCluster(queue="gpu", cores=1, processes=1, memory="32GB", walltime="02:00:00",
                       job_extra_directives=["--gres=gpu:1"], worker_extra_args=WORKER + ["--resources", "GPU=1"],
                       scheduler_options=scheduler_options or {"port": 0})
    try:
        return gpu.job_script()
    finally:
        gpu.close()


if __name__ == "__main__":
    cluster = cpu_cluster()
    print(f"make grade SCHEDULER={cluster.scheduler_address}")
    print("GPU workers: submit this job script with sbatch, pointing at that address:\n" + gpu_worker_script())
    while True:
        time.sleep(3600)
