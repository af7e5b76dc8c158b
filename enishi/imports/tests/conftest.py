"""Personas beyond Alice (admin) and Bob (member, 営業1課): Carol is a member of 営業2課, Dave is
read-only in 営業1課. Uploaded files go to a temporary folder per test."""

import io

import pytest
from django.utils import translation

from enishi.core.later import translated
from enishi.imports import services


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.ENISHI_IMPORT_DIR = tmp_path / "imports"


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English, the source language, whatever the catalogue holds.
    with translation.override("en"):
        yield


def as_read(row):
    """The row with its problems and notes as people read them (they are stored for later:
    translated when read, `core.later`)."""
    row.problems = [[key, translated(message)] for key, message in row.problems]
    row.notes = [[key, translated(message)] for key, message in row.notes]
    return row


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def upload(actor, content: bytes, name: str = "顧客.csv", target: str = "customers"):
    return services.import_upload(
        actor=actor, file=io.BytesIO(content), file_name=name, target=target
    )


def check(actor, run, **mapping_options):
    if mapping_options:
        services.import_set_mapping(actor=actor, run=run, mapping=run.mapping, **mapping_options)
    services.import_check(actor=actor, run=run)
    run.refresh_from_db()
    return run


def run_import(actor, run, **rules):
    if rules:
        services.import_set_rules(actor=actor, run=run, rules=rules)
    services.import_start(actor=actor, run=run)
    run.refresh_from_db()
    return run
