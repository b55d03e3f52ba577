"""JupyterHub for a class: every student gets JupyterLab with nbgrader's Assignment List; the instructor
also gets the Formgrader. One shared exchange folder (/srv/nbgrader/exchange) carries assignments in and
submissions out, as nbgrader documents for a single machine with several Unix users.

全班使用的 JupyterHub 配置：学生在 JupyterLab 中用作业列表取作业、提交；教师另有 Formgrader。

Install (as root, once) / 安装（root，一次）:
    python3 -m venv /opt/course && /opt/course/bin/pip install -r requirements.txt jupyterhub==5.4.3
    /opt/course/bin/pip install --no-deps -e .          # the trusted grader, importable by nbgrader
    npm install -g configurable-http-proxy                 # JupyterHub's proxy
    install -d -m 0777 /srv/nbgrader/exchange && chmod +t /srv/nbgrader/exchange
    install -m 0644 deploy/nbgrader_config.py /etc/jupyter/nbgrader_config.py   # every user's nbgrader
    useradd -m instructor; useradd -m alice; ...          # Unix users = student ids
    # the instructor clones this repository to ~/torch-first-principles (its course/ is the course)
Students also see the Formgrader menu entry, which has no course to show them; to hide it, per student:
    jupyter labextension disable --level=user @jupyter/nbgrader:formgrader
Run / 运行:  /opt/course/bin/jupyterhub -f deploy/jupyterhub_config.py
The instructor runs `make release-exchange collect grade return-feedback` in ~/torch-first-principles
(NBGRADER_EXCHANGE=/srv/nbgrader/exchange set, as it is in their Hub server);
students open Nbgrader > Assignment List.
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

COURSE_ID = "torch-first-principles"
EXCHANGE = "/srv/nbgrader/exchange"
INSTRUCTORS = {"instructor"}
STUDENTS = set(os.environ.get("COURSE_STUDENTS", "alice,bob").split(","))

c.JupyterHub.bind_url = os.environ.get("HUB_URL", "http://0.0.0.0:8000")
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"  # Unix accounts and passwords
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = INSTRUCTORS
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"  # one process per Unix user
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.cmd = ["/opt/course/bin/jupyterhub-singleuser"]
c.Spawner.mem_limit = "4G"


def course_for(spawner):
    """The instructor's nbgrader reads ~/torch-first-principles/course/nbgrader_config.py (trusted grader, gradebook) with the shared
    exchange; students only get deploy/nbgrader_config.py (installed in /etc/jupyter)."""
    if spawner.user.name in INSTRUCTORS:
        home = f"/home/{spawner.user.name}"
        spawner.environment.update({"JUPYTER_CONFIG_PATH": f"{home}/torch-first-principles/course",
                                    "NBGRADER_EXCHANGE": EXCHANGE,
                                    "NBGRADER_STUDENT_DIR": f"{home}/student"})


c.Spawner.pre_spawn_hook = course_for
