"""nbgrader's per-student bookkeeping, paid once per batch where it can be / 按批次摊销 nbgrader 的开销.

Profiled on a07 (8 students): about 0.6 s per student went to nbgrader's bookkeeping in the
coordinator, two thirds of it work that does not change between students:

* every ``Gradebook(...)`` open builds a new SQLAlchemy engine (nbgrader opens about nine per
  student), and SQLAlchemy caches compiled SQL per engine, so every statement was compiled
  again for every open;
* every open also lists the tables and runs ``create_all`` (a catalogue query per table) to
  create a schema that, once created, stays;
* ``CheckCellMetadata`` calls ``jsonschema.validate`` per cell, which re-checks nbgrader's own
  schema against the meta-schema every time before validating the cell.

:func:`batch_bookkeeping` keeps nbgrader's code and results exactly as they are and removes the
repetition for the duration of one batch: one engine per database URL (each ``Gradebook``
still opens and closes its own session and connection), the schema made or checked once per
engine, and each metadata schema checked once (every cell is still validated against it, and
the same first error is raised).
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
            engine = self.create(url, **kwargs)
            # Gradebook.close() disposes its engine, i.e. closes the pooled connections: kept for
            # the batch instead (a new PostgreSQL connection per open costs a server process)
            engine.dispose = lambda close=True: None
            self.made[key] = engine
        return self.made[key]

    def dispose(self) -> None:
        for engine in self.made.values():
            del engine.dispose  # back to the class's method
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


class _SchemaOnce:
    """``inspect(engine).get_table_names()`` and ``metadata.create_all(bind=engine)``, done for
    real until the tables exist, then answered from memory for that engine."""

    def __init__(self, inspect, create_all):
        self.inspect, self.create_all, self.tables = inspect, create_all, {}

    def inspector(self, engine):
        tables = self.tables.get(id(engine))
        if tables:
            return _Tables(tables)
        return self.inspect(engine)

    def create(self, bind=None, **kwargs):
        if self.tables.get(id(bind)):
            return None
        self.create_all(bind=bind, **kwargs)
        self.tables[id(bind)] = self.inspect(bind).get_table_names()
        return None


class _Tables:
    def __init__(self, names):
        self.names = names

    def get_table_names(self):
        return list(self.names)


@contextmanager
def batch_bookkeeping():
    engines = _Engines(nbgrader.api.create_engine)
    metadata = nbgrader.api.Base.metadata
    schema = _SchemaOnce(nbgrader.api.inspect, metadata.create_all)
    nbgrader.api.create_engine = engines
    nbgrader.api.inspect = schema.inspector
    metadata.create_all = schema.create
    nbgrader_format.jsonschema = _CachedSchemaValidation()
    try:
        yield
    finally:
        nbgrader.api.create_engine = engines.create
        nbgrader.api.inspect = schema.inspect
        del metadata.create_all  # back to the class's method
        nbgrader_format.jsonschema = jsonschema
        engines.dispose()


class _SharedSession:
    """The session of every ``Gradebook`` opened inside :func:`one_transaction`: nbgrader's
    commits (one per grade cell in ``SaveAutoGrades``) become flushes, and closing is left to
    the transaction's end."""

    def __init__(self, session):
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def remove(self) -> None:
        pass

    close = remove

    def __getattr__(self, name):
        return getattr(self._session, name)


@contextmanager
def one_transaction():
    """Every gradebook write inside the block is one database transaction: committed at the end,
    rolled back if anything in it fails (a lost connection included). So a student's grades are
    recorded whole or not at all, even if the database goes away in the middle."""
    from sqlalchemy.orm import Session
    gradebook = nbgrader.api.Gradebook
    original = gradebook.__init__
    shared: dict[str, Session] = {}

    def init(gb, db_url, *args, **kwargs):
        original(gb, db_url, *args, **kwargs)
        gb.db.remove()  # its own session: nothing pending after nbgrader's set-up commit
        if db_url not in shared:
            shared[db_url] = Session(bind=gb.engine, autoflush=True)
        gb.db = _SharedSession(shared[db_url])

    gradebook.__init__ = init
    try:
        yield
        for session in shared.values():
            session.commit()
    except BaseException:
        for session in shared.values():
            try:
                session.rollback()
            except Exception:  # noqa: BLE001 - the connection may be the thing that failed
                pass
        raise
    finally:
        gradebook.__init__ = original
        for session in shared.values():
            try:
                session.close()
            except Exception:  # noqa: BLE001
                pass
