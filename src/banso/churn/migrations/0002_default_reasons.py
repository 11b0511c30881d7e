"""The default churn-reason taxonomy in Japanese; users edit it afterwards (MANAGE_HEALTH)."""

from typing import Any

from django.db import migrations

from banso.churn.defaults import DEFAULT_REASONS


def add_defaults(apps: Any, schema_editor: Any) -> None:
    reason = apps.get_model("churn", "ChurnReason")
    for order, (code, name, children) in enumerate(DEFAULT_REASONS, start=1):
        parent, _ = reason.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})
        for sub_order, (sub_code, sub_name) in enumerate(children, start=1):
            reason.objects.get_or_create(
                code=sub_code, defaults={"name": sub_name, "order": sub_order * 10, "parent": parent}
            )


class Migration(migrations.Migration):
    dependencies = [("churn", "0001_churn_records")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
