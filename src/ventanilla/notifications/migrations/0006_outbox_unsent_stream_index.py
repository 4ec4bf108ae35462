"""Delivery order per recipient and channel: a partial index over unsent outbox rows."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0005_task_queue_autovacuum'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='outboundmessage',
            index=models.Index(condition=models.Q(('status__in', ['pending', 'sending'])), fields=['recipient', 'channel', 'id'], name='outbox_unsent_stream'),
        ),
    ]
