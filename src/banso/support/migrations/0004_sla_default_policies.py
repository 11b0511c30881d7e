from django.db import migrations

# (priority, name, first response, next response, resolution) in business minutes (8-hour business day).
POLICIES = (
    ("urgent", "緊急", 30, 60, 480),
    ("high", "高", 60, 120, 960),
    ("normal", "通常", 240, 480, 1440),
    ("low", "低", 480, 960, 2400),
)


def create(apps, schema_editor):
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    for priority, name, first, following, resolution in POLICIES:
        SlaPolicy.objects.get_or_create(
            priority=priority,
            channel="",
            defaults={
                "name": name,
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("support", "0003_classify_training")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
