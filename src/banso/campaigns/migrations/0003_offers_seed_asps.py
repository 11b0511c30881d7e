"""The affiliate networks most offers come through, so an offer can be entered on a fresh install."""

from django.db import migrations

ASPS = (
    ("a8", "A8.net"),
    ("valuecommerce", "ValueCommerce"),
    ("afb", "afb"),
    ("moshimo", "もしもアフィリエイト"),
    ("accesstrade", "アクセストレード"),
)


def seed(apps, schema_editor):
    Asp = apps.get_model("campaigns", "Asp")
    for code, name in ASPS:
        Asp.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_conversions_cashback_paid"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
