"""Alembic environment: migrates the connection ``database.migration_config`` hands over."""

from alembic import context

from fateflow_grpc.storage.models import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
)
with context.begin_transaction():
    context.run_migrations()
