"""Background work of the duplicates queue (django-tasks): thin wrappers over the services."""

from django_tasks import task

from enishi.quality import services


@task()
def duplicate_scan(scan_id: int, workers: int | None = None) -> int:
    """Scan the whole database for duplicates; progress and outcome are on the ScanRun row."""
    scan = services.scan_execute(scan_id=scan_id, workers=workers)
    return scan.pairs
