"""`enishi exports_expire`: remove prepared export files whose time is up (for cron; the
background queue also does it when each file's time comes)."""

from django.core.management.base import BaseCommand

from enishi.transfer.services import exports_expire


class Command(BaseCommand):
    help = "Remove prepared export files whose time is up, and files no export points to."

    def handle(self, *args, **options):
        removed = exports_expire()
        self.stdout.write(f"{removed} file(s) removed")
