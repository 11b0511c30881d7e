"""Indexes Django cannot declare portably.

- PostgreSQL: a trigram index makes `search_text LIKE '%…%'` (the account name search) an index scan.
  pg_trgm is a trusted extension (PostgreSQL 13+), so the database owner may create it. SQLite has no
  equivalent; there the search scans, which is fine at the sizes SQLite deployments hold.
- Both: the "latest renewal first" sort orders by next_renewal_date DESC NULLS LAST; SQLite refuses
  NULLS LAST in an index but already puts NULLs last when descending.
"""

from django.db import migrations


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS account_search_trgm ON accounts_account USING gin (search_text gin_trgm_ops)"
        )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS account_renewal_desc "
            "ON accounts_account (next_renewal_date DESC NULLS LAST, id DESC)"
        )
    else:
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS account_renewal_desc ON accounts_account (next_renewal_date DESC, id DESC)"
        )


def _drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS account_renewal_desc")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS account_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_list_sort_indexes")]
    operations = [migrations.RunPython(_create, _drop)]
