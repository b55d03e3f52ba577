"""nbgrader configuration for the course / 课程的 nbgrader 配置.

Run nbgrader (or `make release/grade/feedback/export`) from this folder. Autograding uses
the trusted grader: `TrustedExecute` replaces nbgrader's `Execute`, so student code runs in
a sandbox and a separate, trusted process decides the score (see README, "Threat model").
"""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds,
                                    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec,
                                    SaveAutoGrades)

from autograder.preprocessors import FlagForReview, RepairSubmission, TrustedExecute

HERE = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "torch-first-principles"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
# Keep text sources and notes out of release/ (jupytext #157); only notebooks are released.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md"]

# A course-local exchange, so the student/instructor loop works on one machine without root
# (`make release-exchange`, the Assignment List in `make lab`, `make collect`, `make return-feedback`).
# For a class on JupyterHub, deploy/nbgrader_config.py points every student at a shared exchange.
# 课程目录内的交换目录：单机即可完成发布、取作业、提交、收作业、反馈，无需 root。
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", os.path.join(HERE, "exchange"))
# Where the Assignment List of `make lab` fetches to, relative to nothing but this file:
# <repository>/student/<assignment>/ (gitignored). 学生在单机上的作业目录。
STUDENT_DIR = os.environ.get("NBGRADER_STUDENT_DIR", os.path.join(os.path.dirname(HERE), "student"))
c.Exchange.assignment_dir = STUDENT_DIR
# Every collect (make collect, the Formgrader's button, plain `nbgrader collect`) goes through the safe one:
# no symlink followed, regular files only, bad names and timestamps reported per student, owners checked.
# 所有收取作业的途径都使用安全的 collect：不跟随链接、只复制普通文件、逐个报告异常、核对文件属主。
c.ExchangeFactory.collect = "autograder.collect.SafeCollect"
try:  # the Assignment List changes into it before anything is fetched
    os.makedirs(STUDENT_DIR, exist_ok=True)
except OSError:
    pass

# Validate (the notebook toolbar, `nbgrader validate`) runs the student's notebook in a kernel with nbgrader's
# Execute. Its defaults (IOPub output 4 s, kernel start 60 s, a cell 30 s) fail on a busy machine, e.g. a
# JupyterHub whose students all press Validate at once; deploy/nbgrader_config.py sets the same for the Hub.
# Validate 在繁忙的机器上也不应超时：放宽 nbgrader 执行 notebook 时的等待时间（Hub 的配置与此相同）。
c.Execute.iopub_timeout = 60    # seconds for the outputs after a cell finished (default 4)
c.Execute.startup_timeout = 180  # seconds for the kernel to start (default 60)
c.Execute.timeout = 300          # seconds per cell (default 30); grading has its own limits (TrustedExecute)

# RepairSubmission first: undo edited, duplicated, retyped or deleted nbgrader cells (stock
# nbgrader would stop on several), then nbgrader's own sanitizers. 先修复被改动的评分单元格。
c.Autograde.sanitize_preprocessors = [
    RepairSubmission,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.RepairSubmission.release_dir = os.path.join(HERE, "release")
c.Autograde.autograde_preprocessors = [
    TrustedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    FlagForReview,  # code the static review flagged: scores kept, cells left for the instructor to check
    AssignLatePenalties,
    CheckCellMetadata,
]
# Feedback pages: nbconvert's own sanitizer on outputs as well (text/html, markdown, JavaScript, widget state).
# nbgrader's feedback and formgrader templates render markdown cells without it, so the notebook itself is
# sanitized while it is graded (RepairSubmission -> autograder.sanitize); this is the second layer.
# 反馈页面：nbconvert 自带的清理作为第二道防线（学生的 markdown 在评分时已清理）。
c.HTMLExporter.sanitize_html = True
c.TrustedExecute.report_dir = os.path.join(HERE, "reports")
c.TrustedExecute.problem_seconds = 20
c.TrustedExecute.cell_seconds = 30
# `make grade`: warm workers (0 = one per core; WORKERS=n overrides) and how student code starts:
# "fork" from a warm worker (fast, needs root), "bwrap" (a fresh bubblewrap per run), or "auto" (fork where
# possible, otherwise bwrap, said aloud). Devices: [] = CPU, plus CUDA where the worker has one.
# 评分工作进程数、沙箱方式（fork 需 root；auto 不可用时改用 bubblewrap 并明确提示）、评分设备。
c.TrustedExecute.workers = 0
c.TrustedExecute.sandbox = "auto"
c.TrustedExecute.devices = []
