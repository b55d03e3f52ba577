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
.PHONY: help setup lab demo test test-unit test-lessons solutions release grade feedback export clean

help: ## list the targets / 列出所有目标
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -c "import matplotlib.pyplot"  # build the font cache once, not inside a lesson
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install pinned requirements / 创建虚拟环境并安装依赖

lab: $(STAMP) ## JupyterLab with nbgrader, on the course / 打开 JupyterLab（含 nbgrader 插件）
	cd course && ../$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --ServerApp.ip=127.0.0.1 \
		$(if $(filter 0,$(shell id -u)),--allow-root)

demo: $(STAMP) ## release, grade 4 sample submissions, feedback, CSV + plot / 完整演示评分流程
	$(BIN)/python -m autograder demo

test: test-unit test-lessons ## all tests: units, content, pipeline, answer key, nbval / 全部测试

test-unit: $(STAMP) ## unit, content and pipeline tests / 单元、内容与流程测试
	$(BIN)/python -m autograder.keygen --check
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests

test-lessons: $(STAMP) ## nbval: lesson outputs reproduce under the pinned torch / 课程输出可复现
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(NBVAL) notebooks

solutions: $(STAMP) ## regenerate solutions/ from the master notebooks / 重新生成参考答案
	$(BIN)/python -m autograder.keygen

release: $(STAMP) ## nbgrader: source -> release / 发布作业
	$(BIN)/python -m autograder release --assignment $(ASSIGNMENT)

grade: $(STAMP) ## autograde course/submitted with the trusted grader / 自动评分
	$(BIN)/python -m autograder grade --assignment $(ASSIGNMENT)

feedback: $(STAMP) ## feedback HTML for graded submissions / 生成反馈
	$(BIN)/python -m autograder feedback --assignment $(ASSIGNMENT)

export: $(STAMP) ## grades CSV and plot into out/ / 导出成绩表与分布图
	$(BIN)/python -m autograder export --assignment $(ASSIGNMENT)

clean: ## remove generated files (keeps .venv) / 删除生成的文件
	rm -rf out course/release course/autograded course/feedback course/reports course/gradebook.db
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
