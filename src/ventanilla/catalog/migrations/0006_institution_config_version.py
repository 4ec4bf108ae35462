import uuid

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0005_office"),
    ]

    operations = [
        migrations.AddField(
            model_name="institution",
            name="config_version",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
    ]
