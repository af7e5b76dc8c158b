"""Background tasks of exports: thin wrappers that call the services (arguments are plain
JSON values, as the task queue stores them)."""

from django_tasks import task

from enishi.transfer import services


@task()
def export_run_task(export_id: int) -> str:
    """Write the file of a queued export; returns its status."""
    record = services.export_run(export_id=export_id)
    return record.status if record is not None else "skipped"


@task()
def exports_expire_task() -> int:
    """Remove the kept files whose time is up; returns how many were removed."""
    return services.exports_expire()
