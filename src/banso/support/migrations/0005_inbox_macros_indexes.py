"""The inbox: personal macros, and the indexes its pages need at a million inquiries.

- (updated_at, id): the inbox's default order and its keyset paging, whatever the filters.
- PostgreSQL: trigram indexes on UPPER(subject) / UPPER(requester_name) / UPPER(requester_email) make the
  inbox's text search (`icontains`, which Django writes as UPPER(col) LIKE UPPER('%…%')) an index scan.
"""

from django.db import migrations, models

TRIGRAM_COLUMNS = ("subject", "requester_name", "requester_email")


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS inquiry_{column}_trgm ON support_inquiry USING gin (UPPER({column}) gin_trgm_ops)"
        )


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS inquiry_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("support", "0004_sla_default_policies")]

    operations = [
        migrations.AddField(
            model_name="macro",
            name="personal",
            field=models.BooleanField(default=False, verbose_name="personal"),
        ),
        migrations.AddIndex(
            model_name="inquiry",
            index=models.Index(fields=["updated_at", "id"], name="inquiry_updated_id"),
        ),
        migrations.RunPython(_create, _drop),
    ]
