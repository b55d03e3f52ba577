"""nbgrader for every user of the JupyterHub (install as /etc/jupyter/nbgrader_config.py).

Students: the Assignment List fetches into their home folder and submits to the shared exchange.
The instructor's course/nbgrader_config.py (loaded after this one) adds the trusted grader, the safe collect
and the gradebook, and uses this shared exchange too because jupyterhub_config.py sets NBGRADER_EXCHANGE for
everyone (on the command line: `NBGRADER_EXCHANGE=/srv/nbgrader/exchange python -m autograder collect ...`).
Nothing here imports the grader: a student's environment only has its student part.

全体用户共用的 nbgrader 配置：学生从共享交换目录取作业、提交到那里。这里不导入评分程序（学生环境里没有它）。
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "torch-first-principles"
# mode 1777, created once by root (see jupyterhub_config.py); the Hub sets NBGRADER_EXCHANGE to the same
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.assignment_dir = "."               # the server's root: the student's home folder
c.Exchange.path_includes_course = False

# Validate runs the notebook in a kernel on the shared machine, maybe while the whole class does the same:
# nbgrader's defaults (IOPub output 4 s, kernel start 60 s, a cell 30 s) fail there. Same as course/.
# 全班共用一台机器，可能同时点 Validate：放宽等待时间（与 course/nbgrader_config.py 相同）。
c.Execute.iopub_timeout = 60
c.Execute.startup_timeout = 180
c.Execute.timeout = 300
