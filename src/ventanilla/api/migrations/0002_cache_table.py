"""The database cache table (rate-limit counters) when no Redis is configured.

``createcachetable`` is idempotent and does nothing for non-database caches (Redis, or the
tests' locmem), so running it from a migration makes ``migrate`` enough for a deployment.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("api", "0001_api_keys")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
