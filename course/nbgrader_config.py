"""nbgrader configuration for the course / 课程的 nbgrader 配置.

Run nbgrader (or `make release/grade/feedback/export`) from this folder. Autograding uses
the trusted grader: `TrustedExecute` replaces nbgrader's `Execute`, so student code runs in
a sandbox and a separate, trusted process decides the score (see README, "Threat model").
"""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from autograder.preprocessors import TrustedExecute

HERE = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "torch-first-principles"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
# Keep text sources and notes out of release/ (jupytext #157); only notebooks are released.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md"]

# A course-local exchange, so the student/instructor loop works on one machine without root.
c.Exchange.root = os.path.join(HERE, "exchange")

c.Autograde.autograde_preprocessors = [
    TrustedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.TrustedExecute.report_dir = os.path.join(HERE, "reports")
c.TrustedExecute.problem_seconds = 20
c.TrustedExecute.cell_seconds = 30
