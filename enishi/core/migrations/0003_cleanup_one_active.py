from django.db import migrations, models


def close_extra_active(apps, schema_editor):
    """Before the constraint: of the clean-ups still queued or running, the newest stays; the
    others (started twice before the guard, or stranded) are marked failed."""
    StyleCleanup = apps.get_model("core", "StyleCleanup")
    active = StyleCleanup.objects.filter(status__in=["queued", "running"]).order_by("-id")
    newest = active.values_list("id", flat=True).first()
    if newest is not None:
        active.exclude(id=newest).update(
            status="failed", error="Started twice: another clean-up was running."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_cleanup_undo"),
    ]

    operations = [
        migrations.RunPython(close_extra_active, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="stylecleanup",
            constraint=models.UniqueConstraint(
                models.Value(1),
                condition=models.Q(("status__in", ["queued", "running"])),
                name="style_cleanup_one_active",
            ),
        ),
    ]
