"""PostgreSQL upkeep of django_tasks_db's queue table (the database task queue).

A queue table churns: every task is inserted, updated twice (claimed, finished) and later
deleted by the pruning. PostgreSQL's default autovacuum waits until a fifth of the table has
changed before it vacuums or analyzes it: on a table of a million finished rows that is
200,000 changes, so dead index entries pile up at the front of the claim index and the
planner works on stale statistics. Vacuum and analyze it after 1 % (at least 1,000 rows)
instead. Reversible; nothing to do on SQLite (no autovacuum, no planner statistics).

Statistics matter most while the table has none at all (a new installation, a restored
dump): the claim query then sorts every waiting task on each claim (bench/bench_queue.py).
``ventanilla worker`` analyzes the table itself in that case (``_queue_statistics``), since
autovacuum may be busy with bigger tables exactly when a backlog builds up.
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
SETTINGS = ("autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, "
            "autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000")
NAMES = ("autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
         "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold")


def tune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET ({SETTINGS})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET ({NAMES})")


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0004_outboundmessage_delivery_error_and_more"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(tune, untune, elidable=False)]
