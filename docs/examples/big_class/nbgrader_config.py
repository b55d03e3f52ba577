# A big class / 大班: add these lines to course/nbgrader_config.py (after what is there).
# The gradebook on PostgreSQL, grading on an existing Dask cluster. docs/INSTRUCTOR_GUIDE.md, "big class".
# 成绩库放在 PostgreSQL，评分交给现有的 Dask 集群。详见 docs/INSTRUCTOR_GUIDE.md「大班」一节。
import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# nbgrader's gradebook: SQLAlchemy URL, psycopg 3 driver (pinned in requirements.txt).
# The password comes from ~/.pgpass or PGPASSWORD, never from this file.
c.CourseDirectory.db_url = os.environ.get(
    "GRADEBOOK_URL", "postgresql+psycopg://grader@db.example.edu:5432/pytorch_course")

# `make grade` sends the notebooks to this scheduler's workers (one warm sandboxed grader each);
# `make grade SCHEDULER=...` overrides it, empty grades on this machine.
c.TrustedExecute.scheduler = os.environ.get("DASK_SCHEDULER", "tcp://grader-head.example.edu:8786")

# The same devices for every submission on every worker: a GPU case runs only on workers started
# with --resources GPU=1. ["cpu"] grades everything on the CPU, anywhere.
c.TrustedExecute.devices = ["cpu", "cuda"]
