"""The categories most support desks start with; an admin renames, reorders or retires them."""

from django.db import migrations

DEFAULT_CATEGORIES = ["製品について", "料金・請求", "不具合・故障", "要望", "解約・変更", "その他"]


def create_default_categories(apps, schema_editor):
    InquiryCategory = apps.get_model("inquiries", "InquiryCategory")
    if InquiryCategory.objects.exists():
        return
    InquiryCategory.objects.bulk_create(
        InquiryCategory(name=name, position=(i + 1) * 10)
        for i, name in enumerate(DEFAULT_CATEGORIES)
    )


class Migration(migrations.Migration):
    dependencies = [("inquiries", "0001_initial")]

    operations = [
        migrations.RunPython(create_default_categories, migrations.RunPython.noop),
    ]
