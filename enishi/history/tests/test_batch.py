"""History entries written inside `history_batch` carry the batch, so an import or a merge can
be found and undone as a whole."""

import pytest

from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.history.services import current_batch, history_batch

pytestmark = pytest.mark.django_db


def test_entries_written_inside_a_batch_carry_it(alice):
    with history_batch("import:7"):
        assert current_batch() == "import:7"
        inside = testing.make_customer(alice, name="一括 太郎")
    outside = testing.make_customer(alice, name="単独 花子")

    assert current_batch() == ""
    assert set(
        HistoryEntry.objects.filter(batch="import:7").values_list("object_id", flat=True)
    ) == {inside.pk}
    assert HistoryEntry.objects.get(object_id=outside.pk, model="customers.customer").batch == ""


def test_batch_is_reset_after_an_error(alice):
    with pytest.raises(RuntimeError), history_batch("merge:1"):
        raise RuntimeError("boom")
    assert current_batch() == ""
