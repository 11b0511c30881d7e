"""The seeded A8.net and ValueCommerce read their own report layouts (conversions.REPORT_FORMATS) unless someone
already chose another one."""

from django.db import migrations

FORMATS = {"a8": "a8", "valuecommerce": "valuecommerce"}


def set_formats(apps, schema_editor):
    Asp = apps.get_model("campaigns", "Asp")
    for code, report_format in FORMATS.items():
        Asp.objects.filter(code=code, report_format="standard").update(report_format=report_format)


def unset_formats(apps, schema_editor):
    Asp = apps.get_model("campaigns", "Asp")
    for code, report_format in FORMATS.items():
        Asp.objects.filter(code=code, report_format=report_format).update(report_format="standard")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_offers_seed_asps"),
    ]

    operations = [
        migrations.RunPython(set_formats, unset_formats),
    ]
