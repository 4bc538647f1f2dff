from django.db import migrations

# Django gives a varchar key a second, LIKE-only index on PostgreSQL. Event and delivery ids, and an
# attempt's delivery id, are only ever looked up whole, and every recorded event, every claim and
# every recorded attempt would pay for those indexes (a claim or a record rewrites the delivery row).
TABLES_AND_COLUMNS = (("webhooks_event", "id"), ("webhooks_delivery", "id"), ("webhooks_attempt", "delivery_id"))


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, column in TABLES_AND_COLUMNS:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s AND indexname LIKE %s",
                [table, f"{table}_{column}_%_like"],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0009_attempt_response_headers"),
    ]

    operations = [
        migrations.RunPython(drop_like_indexes, migrations.RunPython.noop),
    ]
