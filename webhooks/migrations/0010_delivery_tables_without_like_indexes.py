from django.db import migrations

from skillhub.db import drop_like_indexes

# Event and delivery ids, and an attempt's delivery id, are only ever looked up whole; every recorded
# event, every claim and every recorded attempt would pay for their LIKE-only indexes (a claim or a
# record rewrites the delivery row).
TABLES_AND_COLUMNS = (("webhooks_event", "id"), ("webhooks_delivery", "id"), ("webhooks_attempt", "delivery_id"))


def drop_delivery_like_indexes(apps, schema_editor):
    for table, column in TABLES_AND_COLUMNS:
        drop_like_indexes(schema_editor, table, column)


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0009_attempt_response_headers"),
    ]

    operations = [
        migrations.RunPython(drop_delivery_like_indexes, migrations.RunPython.noop),
    ]
