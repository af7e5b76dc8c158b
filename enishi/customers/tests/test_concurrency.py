"""Two real writers at once (threads with their own database connections): no lost update."""

import threading

import pytest
from django.db import connection, connections

from enishi.core import testing
from enishi.customers import services
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry

WRITES_PER_WRITER = 20


def _writer(customer_pk: int, actor, errors: list, conflicts: list) -> None:
    try:
        done = 0
        while done < WRITES_PER_WRITER:
            current = Customer.objects.get(pk=customer_pk)  # what this person sees on screen
            counter = int(current.notes or "0")
            try:
                services.customer_update(
                    actor=actor,
                    customer=current,
                    data={"notes": str(counter + 1)},
                    version=current.version,
                )
            except services.StaleVersionError:
                conflicts.append(
                    1
                )  # someone saved in between: read again, as the UI asks people to
                continue
            done += 1
    except Exception as exc:  # noqa: BLE001 - surfaced by the test below
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_lose_no_update():
    alice = testing.make_user("alice", admin=True)
    bob = testing.make_user("bob")
    customer = testing.make_customer(alice, name="同時 編集", notes="0")
    errors: list = []
    conflicts: list = []
    threads = [
        threading.Thread(target=_writer, args=(customer.pk, user, errors, conflicts))
        for user in (alice, bob)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    customer.refresh_from_db()
    assert customer.notes == str(2 * WRITES_PER_WRITER)
    assert customer.version == 1 + 2 * WRITES_PER_WRITER
    updates = HistoryEntry.objects.filter(customer_id=customer.pk, action="update")
    assert updates.count() == 2 * WRITES_PER_WRITER
    # Every step from n to n+1 was recorded exactly once: nothing overwritten silently.
    steps = sorted(int(e.changes["notes"][1]) for e in updates)
    assert steps == list(range(1, 2 * WRITES_PER_WRITER + 1))
    if connection.vendor == "sqlite":
        assert connection.settings_dict["NAME"] != ":memory:"
