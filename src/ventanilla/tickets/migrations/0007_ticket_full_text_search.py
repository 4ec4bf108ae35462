"""Full-text search of tickets on PostgreSQL (the inbox's search box); nothing on SQLite.

- ``ventanilla_es``: Spanish stemming after ``unaccent``, so "kinesiologo" finds "kinesiólogo"
  and "Zuniga" finds "Zúñiga". ``unaccent`` is a trusted extension since PostgreSQL 13 (a
  database owner may create it); where it cannot be created the configuration is plain Spanish
  and the search is accent-sensitive, with a warning here (install the contrib package, or let
  a superuser ``CREATE EXTENSION unaccent``, then run this migration again after reversing it).
- ``search_vector``: a STORED generated column (name, subject, detail), not an expression
  index. The inbox orders by reception date; for a common word the fastest plan walks the
  date index and tests each row's vector, which must then be read, not recomputed (an
  expression index would make PostgreSQL run ``to_tsvector`` over every row it tests). The
  cost is the column's disk space; writers need not know about it (PostgreSQL computes it).
  The model does not declare it: SQLite has no ``tsvector``; ``tickets.selectors`` queries it.
- A GIN index on it for rare words, names and prefixes.

Adding a stored column rewrites the table: on an installation with millions of tickets run
this migration in a maintenance window (minutes per million rows).
"""

import warnings

from django.db import migrations, transaction

CONFIG = "ventanilla_es"
DOCUMENT = ("coalesce(contact_name, '') || ' ' || coalesce(subject, '') || ' ' || "
            "coalesce(detail, '')")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        has_unaccent = True
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        except Exception as exc:  # noqa: BLE001 - any failure means: go on without it
            has_unaccent = False
            warnings.warn(
                f"unaccent could not be created ({exc}); ticket search will be "
                "accent-sensitive. Create the extension and re-run this migration.",
                stacklevel=1)
        cursor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
        cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.spanish)")
        if has_unaccent:
            cursor.execute(f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR "
                           "hword, hword_part, word WITH unaccent, spanish_stem")
        cursor.execute(
            "ALTER TABLE tickets_ticket ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('{CONFIG}'::regconfig, {DOCUMENT})) STORED")
        cursor.execute("CREATE INDEX ticket_search ON tickets_ticket USING gin (search_vector)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_vector")
        cursor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0006_open_and_folio_indexes"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
