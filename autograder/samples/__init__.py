"""Deliberately wrong implementations per assignment / 每个作业的故意写错的实现.

Each ``WRONG`` maps a problem to wrong solution-cell sources and the status the judge must
give them. Unit tests prove every one loses its points; ``make demo`` uses some of them for
its "partly wrong" student.
"""
import importlib


def wrong(assignment: str) -> dict[str, list[tuple[str, str]]]:
    return importlib.import_module(f"autograder.samples.{assignment}").WRONG
