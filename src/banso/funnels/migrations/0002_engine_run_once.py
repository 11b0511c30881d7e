from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funnels", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="funnelrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("scheduled", True)), fields=("funnel", "as_of"), name="funnel_run_scheduled_once"
            ),
        ),
    ]
