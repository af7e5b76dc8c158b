"""The real queue: a task enqueued in the database is picked up and run by the worker thread
that `enishi serve` starts (the rest of the suite runs tasks at once, ENISHI_TASKS=immediate)."""

import time

import pytest
from django_tasks import TaskResultStatus, task

from enishi.core.background import worker_thread_start
from enishi.customers.models import Tag

pytestmark = pytest.mark.django_db(transaction=True)


@task()
def make_tag(name: str) -> int:
    return Tag.objects.create(name=name).pk


@task()
def fail_loudly() -> None:
    raise ValueError("壊れた入力")


def _wait(result, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result.refresh()
        if result.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
            return result
        time.sleep(0.05)
    raise AssertionError(f"task still {result.status} after {seconds} s")


def test_the_worker_thread_runs_queued_tasks_and_records_failures():
    done = make_tag.using(backend="database").enqueue("キュー経由")
    failed = fail_loudly.using(backend="database").enqueue()
    assert done.status == TaskResultStatus.READY
    assert not Tag.objects.filter(name="キュー経由").exists()

    worker, thread = worker_thread_start(backend_name="database", interval=0.05)
    try:
        assert _wait(done).return_value == Tag.objects.get(name="キュー経由").pk
        failed = _wait(failed)
        assert failed.status == TaskResultStatus.FAILED
        assert "壊れた入力" in failed.errors[0].traceback
    finally:
        worker.running = False
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_worker_thread_refuses_a_backend_without_a_queue():
    with pytest.raises(RuntimeError):
        worker_thread_start(backend_name="default")
