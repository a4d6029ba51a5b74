"""Alembic environment: runs on the connection :meth:`Store.migrate` hands over."""

from alembic import context

from urbangrid.service.db import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` CLI use: -x url=... or sqlalchemy.url in the ini
    import sqlalchemy as sa

    from urbangrid.service.db import normalise_url

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url")
    engine = sa.create_engine(normalise_url(url))
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    context.run_migrations()
