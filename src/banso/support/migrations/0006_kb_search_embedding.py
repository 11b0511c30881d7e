from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("support", "0005_inbox_macros_indexes")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="search_embedding",
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
    ]
