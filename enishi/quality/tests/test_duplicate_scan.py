"""The background scan on the real database: its job row and progress, the atomic replacement
of the open candidates, and the pairs people already decided."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from enishi.core import testing
from enishi.quality import services
from enishi.quality.models import DuplicatePair, ScanRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(bob):
    """Two pairs of kartes of one customer each, and a bystander."""
    return {
        "taro": [
            testing.make_customer(
                bob, name="山田 太郎", name_kana="ヤマダ タロウ", mobile="090-1234-5678"
            ),
            testing.make_customer(bob, name="山田 太郎", name_kana="ﾔﾏﾀﾞ ﾀﾛｳ", mobile="09012345678"),
        ],
        "shoji": [
            testing.make_company(
                bob, name="株式会社山田商事", phone="03-3581-0101", corporate_number="7000012050002"
            ),
            testing.make_company(
                bob, name="(株)山田商事", phone="0335810101", corporate_number="7000012050002"
            ),
        ],
        "other": testing.make_customer(bob, name="佐藤 花子", mobile="080-9999-0000"),
    }


def pair_ids() -> set[tuple[int, int]]:
    return set(DuplicatePair.objects.filter(status="open").values_list("a_id", "b_id").order_by())


def expected(twins) -> set[tuple[int, int]]:
    return {tuple(sorted(c.pk for c in twins[k])) for k in ("taro", "shoji")}


def test_a_scan_finds_the_duplicates_and_records_its_progress(alice, twins):
    scan, created = services.scan_start(actor=alice, workers=1)
    assert created
    scan.refresh_from_db()
    assert scan.status == ScanRun.Status.DONE
    assert scan.started_by == alice and scan.task_id
    assert scan.started_at <= scan.finished_at
    assert scan.customers == 5
    assert scan.done == scan.total and scan.total > 0 and scan.percent == 100
    assert pair_ids() == expected(twins)
    assert scan.pairs == 2 and scan.new_pairs == 2
    pair = DuplicatePair.objects.get(a_id=min(c.pk for c in twins["taro"]))
    assert pair.scan == scan and 0 < pair.score <= 1
    assert "same_mobile" in pair.reasons


def test_progress_is_written_to_the_job_row_while_the_scan_runs(alice, twins, monkeypatch):
    seen = []
    real = services.scan_customers

    def watching(queryset, **kwargs):
        progress = kwargs["progress"]

        def spy(done, total, *rest):
            progress(done, total, *rest)
            row = ScanRun.objects.get()
            seen.append((row.status, row.done, row.total))

        return real(queryset, **{**kwargs, "progress": spy})

    monkeypatch.setattr(services, "scan_customers", watching)
    monkeypatch.setattr(services, "PROGRESS_EVERY", 0)
    services.scan_start(actor=alice, workers=1)
    assert seen and all(status == "running" for status, _d, _t in seen)
    assert len(seen) >= 2 and seen[-1][1] == seen[-1][2] > 5  # the engine's own work units


def test_a_new_scan_replaces_the_open_candidates_and_keeps_the_decided_ones(alice, bob, twins):
    services.scan_start(actor=alice, workers=1)
    taro = DuplicatePair.objects.get(a_id=min(c.pk for c in twins["taro"]))
    found_at = taro.found_at
    shoji = DuplicatePair.objects.get(a_id=min(c.pk for c in twins["shoji"]))
    services.pair_dismiss(actor=bob, pair=shoji)
    stale = DuplicatePair.objects.create(
        a=twins["taro"][0], b=twins["other"], score=0.6, found_at=timezone.now()
    )
    scan, _created = services.scan_start(actor=alice, workers=1)
    scan.refresh_from_db()
    assert not DuplicatePair.objects.filter(pk=stale.pk).exists()
    shoji.refresh_from_db()
    assert shoji.status == "dismissed"  # never proposed again
    assert scan.dismissed_kept == 1 and scan.pairs == 1 and scan.new_pairs == 0
    again = DuplicatePair.objects.get(status="open")
    assert (again.a_id, again.b_id) == (taro.a_id, taro.b_id)
    assert again.found_at == found_at  # first found, not last
    assert again.pk == taro.pk  # and its id: a link to the pair stays good
    services.scan_start(actor=alice, workers=1)
    assert DuplicatePair.objects.get(status="open").pk == taro.pk
    # A pair found for the first time after them gets a new id.
    assert DuplicatePair.objects.create(
        a=twins["taro"][0], b=twins["other"], score=0.6, found_at=timezone.now()
    ).pk > max(taro.pk, shoji.pk, stale.pk)


def test_a_failed_scan_leaves_the_previous_list_untouched(alice, twins, monkeypatch):
    services.scan_start(actor=alice, workers=1)
    before = pair_ids()

    def broken(*args, **kwargs):
        raise RuntimeError("ディスクがいっぱい")

    monkeypatch.setattr(services, "scan_customers", broken)
    scan, _created = services.scan_start(actor=alice, workers=1)
    scan.refresh_from_db()
    assert scan.status == ScanRun.Status.FAILED
    assert "ディスクがいっぱい" in scan.error
    assert pair_ids() == before


def test_kartes_deleted_while_the_scan_ran_are_left_out(alice, twins):
    scan, _created = services.scan_create(actor=alice)
    pairs = [
        services.ScanPair(twins["taro"][0].pk, twins["taro"][1].pk, 0.97, ("same_mobile",), 1),
        services.ScanPair(twins["shoji"][0].pk, twins["shoji"][1].pk, 0.9, ("same_phone",), 2),
    ]
    from enishi.customers.services import customer_delete

    customer_delete(actor=alice, customer=twins["shoji"][1])
    counts = services.candidates_replace(scan=scan, pairs=pairs)
    assert counts["pairs"] == 1
    assert pair_ids() == {tuple(sorted(c.pk for c in twins["taro"]))}


def test_one_scan_at_a_time(alice, erin, twins):
    queued, created = services.scan_create(actor=alice)
    assert created
    again, created = services.scan_start(actor=erin)
    assert not created and again.pk == queued.pk
    assert ScanRun.objects.count() == 1


def test_a_scan_whose_worker_vanished_does_not_block_the_next(alice, twins):
    lost, _created = services.scan_create(actor=alice)
    ScanRun.objects.filter(pk=lost.pk).update(
        status="running", updated_at=timezone.now() - datetime.timedelta(hours=2)
    )
    scan, created = services.scan_start(actor=alice, workers=1)
    assert created and scan.status == "done"
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error


def test_a_retried_task_does_not_run_a_scan_twice(alice, twins):
    scan, _created = services.scan_start(actor=alice, workers=1)
    finished = ScanRun.objects.get(pk=scan.pk).finished_at
    again = services.scan_execute(scan_id=scan.pk)
    assert again.finished_at == finished


def test_members_may_not_start_a_scan(bob):
    with pytest.raises(PermissionDenied):
        services.scan_start(actor=bob)


def test_the_command_scans_in_process_for_cron(twins, capsys):
    call_command("scan_duplicates", "--workers", "1")
    out = capsys.readouterr().out
    assert "2 candidate pairs" in out
    scan = ScanRun.objects.get()
    assert scan.via == "system" and scan.started_by is None
    assert pair_ids() == expected(twins)


def test_the_command_can_queue_the_scan_for_the_worker(twins, capsys):
    call_command("scan_duplicates", "--queue", "--workers", "1")
    assert "Queued scan" in capsys.readouterr().out
    assert ScanRun.objects.get().status == "done"  # the test backend runs tasks at once


def test_the_command_refuses_nonsense(db):
    with pytest.raises(CommandError):
        call_command("scan_duplicates", "--workers", "0")
    with pytest.raises(CommandError):
        call_command("scan_duplicates", "--threshold", "2")


def test_the_scan_counts_on_the_queue_are_for_those_who_may_see_the_scan(
    client, alice, bob, dave, erin, twins
):
    # The counts are of all kartes; the API shows the scan to managers and admins only (404
    # for others), and so does the queue page.
    services.scan_start(actor=alice, workers=1)
    for user in (alice, erin):
        client.force_login(user)
        page = client.get(reverse("quality:duplicates")).content.decode()
        assert "5件のカルテから候補2組" in page
    for user in (bob, dave):
        client.force_login(user)
        page = client.get(reverse("quality:duplicates")).content.decode()
        assert "件のカルテから" not in page and "候補2組" not in page
        assert "前回のチェック" in page
