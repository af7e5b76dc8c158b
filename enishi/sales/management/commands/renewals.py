import datetime

from django.core.management.base import BaseCommand, CommandError

from enishi.sales.services import renewal_tasks_create


class Command(BaseCommand):
    help = (
        "Make the renewal reminder tasks that are due (run daily from cron; running it again "
        "makes nothing twice)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", help="Check as of this date (YYYY-MM-DD) instead of today.", default=""
        )

    def handle(self, *args, today: str, **options):
        as_of = None
        if today:
            try:
                as_of = datetime.date.fromisoformat(today)
            except ValueError:
                raise CommandError("--today must be a date such as 2026-04-01") from None
        made = renewal_tasks_create(as_of)
        self.stdout.write(self.style.SUCCESS(f"Made {made:,} renewal tasks."))
