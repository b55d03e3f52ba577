"""JupyterHub for a class: every student gets JupyterLab with nbgrader's Assignment List; the instructor
also gets the Formgrader. One shared exchange folder (/srv/nbgrader/exchange) carries assignments in and
submissions out, as nbgrader documents for a single machine with several Unix users.

全班使用的 JupyterHub 配置：学生在 JupyterLab 中用作业列表取作业、提交；教师另有 Formgrader。

What a student's kernel can import is the student part only (`python -m autograder.student`): the visible
checks, no hidden cases, no answer key. The grader itself lives in the instructor's clone (home folder 0700)
and reaches the instructor's server through PYTHONPATH. 学生内核只能导入公开检查；评分程序只在教师的克隆里。

Install (as root, once; docs/INSTRUCTOR_GUIDE.md) / 安装（root，一次）:
    python3 -m venv /opt/course && /opt/course/bin/pip install -r requirements.txt
    .venv/bin/python -m autograder.student install /opt/course  # in a clone after `make setup`: the student part
    install -d -m 1777 /srv/nbgrader/exchange                             # the shared exchange
    install -D -m 0644 deploy/nbgrader_config.py /etc/jupyter/nbgrader_config.py   # every user's nbgrader
    useradd -m -K HOME_MODE=0700 instructor; useradd -m -K HOME_MODE=0700 alice; ...  # Unix users = student ids
    # the instructor clones this repository to ~/torch-first-principles (its course/ is the course)
Students also see the Formgrader menu entry, which has no course to show them; to hide it, per student:
    jupyter labextension disable --level=user @jupyter/nbgrader:formgrader
Run / 运行:  COURSE_STUDENTS=alice,bob /opt/course/bin/jupyterhub -f deploy/jupyterhub_config.py
The instructor runs `make setup` once in ~/torch-first-principles, then `sudo make release-exchange|collect|grade|
return-feedback ASSIGNMENT=NAME` there (a terminal of their Hub server has NBGRADER_EXCHANGE set; as root grading
forks from warm workers, otherwise it uses bubblewrap, slower); students open Nbgrader > Assignment List.

Settings a deployment may change through the environment (tests/hub/ starts this file as it is, with them):
COURSE_STUDENTS, COURSE_INSTRUCTORS (comma-separated login names), COURSE_ENV (/opt/course),
COURSE_EXCHANGE (/srv/nbgrader/exchange), COURSE_NBGRADER_CONFIG_DIR (/etc/jupyter), COURSE_CLONE
(torch-first-principles, in the instructor's home), HUB_URL (http://0.0.0.0:8000).
"""
import os
import pwd

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

COURSE_ID = "torch-first-principles"
ENV = os.environ.get("COURSE_ENV", "/opt/course")  # requirements + the student part, never the grader
EXCHANGE = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")
NBGRADER_CONFIG_DIR = os.environ.get("COURSE_NBGRADER_CONFIG_DIR", "/etc/jupyter")  # deploy/nbgrader_config.py
CLONE = os.environ.get("COURSE_CLONE", "torch-first-principles")  # the instructor's clone, in their home
INSTRUCTORS = set(filter(None, os.environ.get("COURSE_INSTRUCTORS", "instructor").split(",")))
STUDENTS = set(filter(None, os.environ.get("COURSE_STUDENTS", "alice,bob").split(",")))

c.JupyterHub.bind_url = os.environ.get("HUB_URL", "http://0.0.0.0:8000")
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"  # Unix accounts and passwords
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = INSTRUCTORS
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"  # one process per Unix user
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.cmd = [f"{ENV}/bin/jupyterhub-singleuser"]
c.Spawner.mem_limit = "4G"
# A class logs in at the start of a lesson: on a busy machine a server takes longer than the defaults allow.
# 上课时全班同时登录：机器繁忙时单用户服务器启动较慢，放宽等待时间。
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120


def course_for(spawner):
    """Every user's nbgrader reads deploy/nbgrader_config.py (installed in NBGRADER_CONFIG_DIR) with the shared
    exchange. The instructor's also reads ~/torch-first-principles/course/nbgrader_config.py (the trusted
    grader, the gradebook), and the grader's package comes from that clone (PYTHONPATH): it is installed
    nowhere a student's kernel looks."""
    try:
        home = pwd.getpwnam(spawner.user.name).pw_dir
    except KeyError:  # not a Unix user: PAM would not have let them in; the spawn fails on its own
        home = os.path.join("/home", spawner.user.name)
    env = {"NBGRADER_EXCHANGE": EXCHANGE, "JUPYTER_CONFIG_PATH": NBGRADER_CONFIG_DIR}
    if spawner.user.name in INSTRUCTORS:
        clone = os.path.join(home, CLONE)
        env.update({"JUPYTER_CONFIG_PATH": os.pathsep.join([os.path.join(clone, "course"), NBGRADER_CONFIG_DIR]),
                    "PYTHONPATH": clone,
                    "NBGRADER_STUDENT_DIR": os.path.join(home, "student")})
    spawner.environment.update(env)


c.Spawner.pre_spawn_hook = course_for
