# Two commands for a new user: `make demo` and `make test`. Everything else is for instructors.
# 新用户只需两条命令：`make demo` 与 `make test`。其余目标供教师使用。

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENT ?= a01_tensors
PYTEST_WORKERS ?= 2
NBVAL := --nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.DEFAULT_GOAL := help
CHROMIUM ?= /usr/bin/chromium
STUDENT_ENV := build/student-env
.PHONY: help setup lab editions student-env demo test test-unit test-lessons test-browser test-hub solutions release grade feedback export \
	release-exchange collect return-feedback roster clean

help: ## list the targets / 列出所有目标
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'
	@echo "  ASSIGNMENT=$(ASSIGNMENT) (e.g. make collect ASSIGNMENT=a02_tensor_operations / 指定作业)"
	@echo "  make grade WORKERS=4 SANDBOX=auto|fork|bwrap (default: one worker per core, fork where possible;"
	@echo "             no sandbox at all: refused, unless SANDBOX=unsafe-trusted-input for trusted submissions)"
	@echo "  make grade SCHEDULER=tcp://HOST:8786 (grade on an existing Dask cluster; docs/INSTRUCTOR_GUIDE.md)"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -c "import matplotlib.pyplot"  # build the font cache once, not inside a lesson
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install pinned requirements / 创建虚拟环境并安装依赖

editions: $(STAMP) ## one-language lessons: build/editions/zh/ (中文版) and build/editions/en/ / 生成中文版与英文版课程
	$(BIN)/python -m autograder.editions

# The formgrader reads course/nbgrader_config.py from the working directory, the Assignment List and
# Validate from the Jupyter config path: both get the course-local exchange; students fetch into student/.
# Notebooks run on the kernel of build/student-env (JUPYTER_PATH): the visible checks only, so neither
# `import solutions` nor `import autograder.specs` (hidden cases) works there. 内核只能导入公开检查。
lab: editions student-env ## JupyterLab + nbgrader (Assignment List, Validate, Formgrader; 中文: Settings > Language) / 打开 JupyterLab
	mkdir -p student
	cd course && JUPYTER_CONFIG_PATH=$(CURDIR)/course JUPYTER_PATH=$(CURDIR)/$(STUDENT_ENV) \
		../$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) \
		--ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)

student-env: $(STAMP) ## the Python of students' kernels: visible checks, no hidden cases, no answer key / 学生内核环境
	$(BIN)/python -m autograder.student env $(STUDENT_ENV)

demo: $(STAMP) ## release, grade 4 sample submissions, feedback, CSVs + class report / 完整演示评分流程
	$(BIN)/python -m autograder demo

test: test-unit test-lessons test-browser test-hub ## all tests: units, content, pipeline, answer key, nbval, browser / 全部测试

test-unit: $(STAMP) ## unit, content, pipeline and exchange tests / 单元、内容、流程与交换测试
	$(BIN)/python -m autograder.keygen --check
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --ignore=tests/browser --ignore=tests/hub tests

test-browser: $(STAMP) ## JupyterLab clicked through in headless chromium (out/screenshots/) / 浏览器端到端测试
	@test -x $(CHROMIUM) || echo "!! 未找到 $(CHROMIUM)：浏览器测试将被跳过（sudo apt-get install chromium） / $(CHROMIUM) not found: browser tests are SKIPPED (sudo apt-get install chromium)"
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -rs -n 0 --durations=5 tests/browser

# One real JupyterHub with the deploy/ config, three Unix users it creates and removes, Validate and the exchange on a
# busy machine. Needs root (useradd, spawning as other users); skipped with a message otherwise.
test-hub: $(STAMP) ## a class on a real JupyterHub in chromium, a busy machine (root) / 真实 JupyterHub 与繁忙机器测试
	@test "$$(id -u)" = 0 || echo "!! JupyterHub 测试需要 root，将被跳过 / the JupyterHub tests need root: SKIPPED"
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -rs -n 0 --durations=5 tests/hub

test-lessons: $(STAMP) ## nbval: lesson outputs reproduce under the pinned torch / 课程输出可复现
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(NBVAL) notebooks

solutions: $(STAMP) ## regenerate solutions/ from the master notebooks / 重新生成参考答案
	$(BIN)/python -m autograder.keygen

release: $(STAMP) ## nbgrader: source -> release / 发布作业
	$(BIN)/python -m autograder release --assignment $(ASSIGNMENT)

grade: $(STAMP) ## autograde course/submitted on warm sandboxed workers (WORKERS=n SANDBOX=auto|fork|bwrap SCHEDULER=tcp://...) / 自动评分
	$(BIN)/python -m autograder grade --assignment $(ASSIGNMENT) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SANDBOX),--sandbox $(SANDBOX)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

feedback: $(STAMP) ## feedback HTML for graded submissions / 生成反馈
	$(BIN)/python -m autograder feedback --assignment $(ASSIGNMENT)

release-exchange: $(STAMP) ## release to nbgrader's exchange (students: Assignment List > Fetch) / 发布到交换目录
	$(BIN)/python -m autograder release-exchange --assignment $(ASSIGNMENT)

collect: $(STAMP) ## nbgrader collect: submissions -> course/submitted/ / 收取学生提交
	$(BIN)/python -m autograder collect --assignment $(ASSIGNMENT)

return-feedback: $(STAMP) ## feedback HTML, released to the exchange (students: Fetch Feedback) / 生成并发回反馈
	$(BIN)/python -m autograder return-feedback --assignment $(ASSIGNMENT)

roster: $(STAMP) ## class list into nbgrader (FILE=students.csv: id,first_name,last_name,email, UTF-8) / 导入学生名单
	$(BIN)/python -m autograder roster $(if $(FILE),--file "$(FILE)")

export: $(STAMP) ## grades CSVs (wide, long, Canvas, Moodle) and the class report into out/ / 导出成绩表与全班成绩分析
	$(BIN)/python -m autograder export --assignment $(ASSIGNMENT)

clean: ## remove generated files (keeps .venv) / 删除生成的文件
	rm -rf out course/release course/autograded course/feedback course/reports course/gradebook.db
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
