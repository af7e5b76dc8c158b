from django.db import migrations


def create_index(apps, schema_editor):
    from enishi.customers import search_index

    search_index.create(schema_editor.connection)


def drop_index(apps, schema_editor):
    from enishi.customers import search_index

    search_index.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
