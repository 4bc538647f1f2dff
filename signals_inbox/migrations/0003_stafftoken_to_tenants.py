"""The staff token moves to the tenants app: its table is renamed, its rows kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("signals_inbox", "0002_signal_log_without_fk_checks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="stafftoken", table="tenants_stafftoken")],
            state_operations=[migrations.DeleteModel(name="StaffToken")],
        ),
    ]
