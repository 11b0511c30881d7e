"""Closed months are immutable: triggers refuse changing or deleting their statements, invoices and lines
(see banso.billing.immutability)."""

from django.db import migrations

from banso.billing import immutability


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_recon_item_kind_month")]

    operations = [migrations.RunPython(immutability.install, immutability.uninstall)]
