"""Background work (imports, exports, duplicate scans) through Django's tasks API.

Tasks are stored in the database (django-tasks-db), so no extra server is needed: `enishi serve`
runs one worker thread beside the web server, and `enishi worker` runs workers as separate
processes when more are wanted. Tests and `ENISHI_TASKS=immediate` run a task at once, inside
the request that enqueues it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.crypto import get_random_string

if TYPE_CHECKING:
    from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger("enishi.background")


def worker_thread_start(
    *, backend_name: str = "default", interval: float = 1.0
) -> tuple[Worker, threading.Thread]:
    """A daemon thread that runs queued tasks until the process ends (or `worker.running` is
    set to False)."""
    from django_tasks_db.management.commands.db_worker import Worker

    backend = settings.TASKS[backend_name]["BACKEND"]
    if not backend.startswith("django_tasks_db."):
        raise RuntimeError("The in-process worker needs the database task backend.")
    worker = Worker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name=backend_name,
        startup_delay=False,
        max_tasks=None,
        worker_id=f"serve-{get_random_string(8)}",
        excluded_queue_names=[],
    )
    thread = threading.Thread(target=worker.run, name="enishi-tasks", daemon=True)
    thread.start()
    logger.info("background worker started (%s)", worker.worker_id)
    return worker, thread
