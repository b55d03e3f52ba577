#!/usr/bin/env bash
# A Dask cluster over SSH / 通过 SSH 组建 Dask 集群: the scheduler on this machine, one worker process
# per core on each grading machine (same checkout and .venv at the same path, run as root for the
# fork sandbox). GPU machines declare the resource; the grader routes CUDA notebooks to them.
# 调度器在本机；每台评分机器每个核一个工作进程（相同路径下有相同的代码与 .venv，以 root 运行以使用 fork 沙箱）。
set -euo pipefail
HEAD=${HEAD:-grader-head.example.edu}
CPU_HOSTS=${CPU_HOSTS:-"cpu1.example.edu cpu2.example.edu"}
GPU_HOSTS=${GPU_HOSTS:-"gpu1.example.edu"}
COURSE=${COURSE:-/srv/pytorch-course}

"$COURSE/.venv/bin/dask" scheduler --host "$HEAD" --port 8786 --no-dashboard &
for host in $CPU_HOSTS; do
  ssh "root@$host" "$COURSE/.venv/bin/dask" worker "tcp://$HEAD:8786" \
    --nworkers auto --nthreads 1 --memory-limit 0 --no-dashboard &
done
for host in $GPU_HOSTS; do
  ssh "root@$host" "$COURSE/.venv/bin/dask" worker "tcp://$HEAD:8786" \
    --nworkers 1 --nthreads 1 --memory-limit 0 --no-dashboard --resources GPU=1 &
done
wait
