"""nbgrader for every user of the JupyterHub (install as /etc/jupyter/nbgrader_config.py).

Students: the Assignment List fetches into their home folder and submits to the shared exchange.
The instructor's course/nbgrader_config.py (loaded after this one) adds the trusted grader and the
gradebook, and uses this shared exchange too because jupyterhub_config.py sets NBGRADER_EXCHANGE for the
instructor (on the command line: `NBGRADER_EXCHANGE=/srv/nbgrader/exchange make collect`).

全体用户共用的 nbgrader 配置：学生从共享交换目录取作业、提交到那里。
"""
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "torch-first-principles"
c.Exchange.root = "/srv/nbgrader/exchange"   # mode 1777, created once by root (see jupyterhub_config.py)
c.Exchange.assignment_dir = "."               # the server's root: the student's home folder
c.Exchange.path_includes_course = False
c.ExchangeFactory.collect = "autograder.collect.SafeCollect"  # no links followed, owners checked (README)
