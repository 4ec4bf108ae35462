from django.db import migrations


def load(apps, schema_editor):
    from ventanilla.core.territory import load_territory

    load_territory(apps.get_model("core", "Region"), apps.get_model("core", "Province"),
                   apps.get_model("core", "Comuna"))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
