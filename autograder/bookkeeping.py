"""nbgrader's per-student bookkeeping, paid once per batch where it can be / 按批次摊销 nbgrader 的开销.

Profiled on a07 (8 students): about 0.6 s per student went to nbgrader's bookkeeping in the
coordinator, two thirds of it work that does not change between students:

* every ``Gradebook(...)`` open builds a new SQLAlchemy engine (nbgrader opens about nine per
  student), and SQLAlchemy caches compiled SQL per engine, so every statement was compiled
  again for every open;
* ``CheckCellMetadata`` calls ``jsonschema.validate`` per cell, which re-checks nbgrader's own
  schema against the meta-schema every time before validating the cell.

:func:`batch_bookkeeping` keeps nbgrader's code and results exactly as they are and removes the
repetition for the duration of one batch: one engine per database URL (each ``Gradebook``
still opens and closes its own session and connection), and each schema checked once (every
cell is still validated against it, and the same first error is raised).
"""
from __future__ import annotations

from contextlib import contextmanager

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common as nbgrader_format
from jsonschema.exceptions import best_match


class _Engines:
    def __init__(self, create):
        self.create, self.made = create, {}

    def __call__(self, url, **kwargs):
        key = (str(url), tuple(sorted(kwargs.items())))
        if key not in self.made:
            self.made[key] = self.create(url, **kwargs)
        return self.made[key]

    def dispose(self) -> None:
        for engine in self.made.values():
            engine.dispose()


class _CachedSchemaValidation:
    """Stands in for the ``jsonschema`` module inside nbgrader's metadata validator."""

    ValidationError = jsonschema.ValidationError

    def __init__(self):
        self.validators: dict[int, tuple[dict, object]] = {}

    def validate(self, instance, schema, cls=None, *args, **kwargs):
        held = self.validators.get(id(schema))
        if held is None or held[0] is not schema:
            cls = cls or jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)  # once per schema, as jsonschema.validate does every call
            held = (schema, cls(schema, *args, **kwargs))
            self.validators[id(schema)] = held
        error = best_match(held[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


@contextmanager
def batch_bookkeeping():
    engines = _Engines(nbgrader.api.create_engine)
    nbgrader.api.create_engine = engines
    nbgrader_format.jsonschema = _CachedSchemaValidation()
    try:
        yield
    finally:
        nbgrader.api.create_engine = engines.create
        nbgrader_format.jsonschema = jsonschema
        engines.dispose()
