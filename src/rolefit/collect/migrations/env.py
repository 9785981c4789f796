"""Alembic's environment for the contributions database: migrations run on a connection the caller
gives (``config.attributes["connection"]``, see :func:`rolefit.collect.migrate.upgrade`)."""

from alembic import context

from rolefit.collect.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
