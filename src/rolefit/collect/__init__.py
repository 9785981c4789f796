"""Contributed answers (issue #29): people already working as SWEs or MLEs add their answers and role.

Off unless the deployment enables it (``rolefit serve --collect``). The web server is the only writer;
the data scientist reads the database with ``rolefit contributions stats`` and ``export``, and an export
becomes a training source like any form export: contributions never reach the live model directly.

Modules: :mod:`~rolefit.collect.tables` (the schema: contributions and tokens, nothing else),
:mod:`~rolefit.collect.migrate` (Alembic, run on server start), :mod:`~rolefit.collect.store` (every read
and write), :mod:`~rolefit.collect.checks` (what is kept apart, and why), :mod:`~rolefit.collect.export`
(the own-form CSV, months of small groups dropped), :mod:`~rolefit.collect.statement` (what is kept and
what is not, in plain words). SQLAlchemy and Alembic are the ``collect`` extra; nothing here is imported
by the predict path.
"""
