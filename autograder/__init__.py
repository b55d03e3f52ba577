"""Auto-grader for the course: torch-checked specs, a sandbox, a trusted judge, nbgrader glue.

课程自动评分：以 torch 为参照的检查规格、沙箱、可信评判，以及与 nbgrader 的衔接。
"""
__version__ = "0.1.0"
