"""An exported customer list imports back without mapping by hand: the import guesses each
export column's own field from its header, in both languages."""

import pytest
from django.utils import translation

from enishi.imports import targets as t
from enishi.transfer.export import export_columns

pytestmark = pytest.mark.django_db

# The export names a person's company in "company"; the import reads it as the company's name.
EXPECTED = {"company": "company_name"}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_exported_column_maps_back_to_its_field(alice, language):
    with translation.override(language):
        columns = export_columns(alice)
        targets = t.customer_targets()
        guessed = t.guess_mapping([c.label for c in columns], [], targets)
    importable = {target.key for target in targets}
    compared = {
        c.key: (c.label, g, EXPECTED.get(c.key, c.key))
        for c, g in zip(columns, guessed, strict=True)
        if EXPECTED.get(c.key, c.key) in importable
    }
    assert {"contact_post", "company", "tags", "owner"} <= set(compared)
    wrong = {key: found for key, found in compared.items() if found[1] != found[2]}
    assert not wrong
