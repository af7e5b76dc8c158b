"""A first pipeline, so that deals can be recorded at once; admins change it in the settings.

The stages are written out here (not imported from the app) so that this migration keeps doing
what it did when the app's defaults change later.
"""

from django.db import migrations

PIPELINE = "新規営業"
STAGES = [
    ("リード", 10, "open"),
    ("ヒアリング", 20, "open"),
    ("提案", 40, "open"),
    ("見積提出", 60, "open"),
    ("交渉", 80, "open"),
    ("受注", 100, "won"),
    ("失注", 0, "lost"),
]


def create_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("deals", "Pipeline")
    Stage = apps.get_model("deals", "Stage")
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name=PIPELINE, position=0)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=name, position=i, probability=p, outcome=outcome)
        for i, (name, p, outcome) in enumerate(STAGES)
    )


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]

    operations = [migrations.RunPython(create_default_pipeline, migrations.RunPython.noop)]
