from django.db import migrations

STATUSES = (
    ("new", "新規", "new", False),
    ("open", "対応中", "open", False),
    ("waiting_customer", "お客様回答待ち", "pending", True),
    ("on_hold", "保留（社内確認中）", "pending", False),
    ("solved", "解決済み", "solved", True),
    ("closed", "クローズ", "closed", True),
)


def create(apps, schema_editor):
    Status = apps.get_model("support", "Status")
    for position, (key, name, category, pauses) in enumerate(STATUSES):
        Status.objects.get_or_create(
            key=key, defaults={"name": name, "category": category, "pauses_sla": pauses, "position": position * 10}
        )


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
