"""`enishi scan_duplicates`: the duplicate scan for cron (e.g. every night at 2:00:
`0 2 * * * /path/to/enishi scan_duplicates --quiet`)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from enishi.history.models import HistoryEntry
from enishi.quality import services
from enishi.quality.models import ScanRun


class Command(BaseCommand):
    help = (
        "Scan every karte for duplicates and replace the open candidates of the duplicates "
        "queue (pairs marked 'not a duplicate' stay out). Runs in this process and prints its "
        "progress; --queue hands it to the background worker instead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Queue the scan for the worker of `enishi serve` / `enishi worker` and return.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes to compare with (default: every core this process may use).",
        )
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="Score from which a pair is a candidate (0–1; default: the engine's).",
        )
        parser.add_argument("--quiet", action="store_true", help="Print only the outcome.")

    def handle(self, *args, queue: bool, workers, threshold, quiet: bool, **options):
        if workers is not None and not 1 <= workers <= 256:
            raise CommandError("--workers must be between 1 and 256")
        if threshold is not None and not 0 < threshold <= 1:
            raise CommandError("--threshold must be more than 0 and at most 1")
        if queue:
            scan, created = services.scan_start(
                actor=None, via=HistoryEntry.Via.SYSTEM, threshold=threshold, workers=workers
            )
            if not created:
                self.stdout.write(f"A scan is already {scan.status} (#{scan.pk}): nothing queued.")
                return
            self.stdout.write(self.style.SUCCESS(f"Queued scan #{scan.pk}."))
            return
        scan, created = services.scan_create(
            actor=None, via=HistoryEntry.Via.SYSTEM, threshold=threshold
        )
        if not created:
            self.stdout.write(
                f"A scan is already {scan.status} (#{scan.pk}): not starting another."
            )
            return
        if not quiet:
            self.stdout.write(f"Scanning (scan #{scan.pk})…")
        scan = services.scan_execute(
            scan_id=scan.pk, workers=workers, echo=None if quiet else self._echo
        )
        if not quiet:
            sys.stderr.write("\n")
        if scan.status != ScanRun.Status.DONE:
            raise CommandError(f"Scan #{scan.pk} failed: {scan.error}")
        seconds = (scan.finished_at - scan.started_at).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(
                f"Scan #{scan.pk}: {scan.customers:,} kartes, {scan.pairs:,} candidate pairs "
                f"({scan.new_pairs:,} new, {scan.dismissed_kept:,} already marked not a "
                f"duplicate) in {seconds:.1f} s."
            )
        )

    def _echo(self, done: int, total: int, phase: str) -> None:
        percent = int(done * 100 / total) if total else 0
        sys.stderr.write(f"\r{phase} {done:,}/{total:,} ({percent}%)   ")
        sys.stderr.flush()
