"""On PostgreSQL, the attempts table becomes partitioned by id range (webhooks/partitions.py); elsewhere nothing changes."""

from django.conf import settings
from django.db import migrations


def partition_attempts(apps, schema_editor):
    from webhooks.partitions import convert_to_partitions

    convert_to_partitions(schema_editor, settings.WEBHOOKS_ATTEMPT_PARTITION_ROWS)


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0006_delivery_log_indexes'),
    ]

    # The model is unchanged: the primary key is still `id`, the partition key.
    operations = [migrations.RunPython(partition_attempts, migrations.RunPython.noop)]
