import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from enishi.core import env


def _enishi(args: list[str], **extra_env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "enishi.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_it_passes_the_deployment_check_with_production_settings(tmp_path):
    result = _enishi(
        ["check", "--deploy", "--fail-level", "WARNING"],
        ENISHI_HTTPS="1",
        SECRET_KEY="x" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d",
        DEBUG="0",
        ALLOWED_HOSTS="crm.example.co.jp",
        ENISHI_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_with_a_malformed_setting(tmp_path):
    result = _enishi(["check"], DEBUG="maybe", ENISHI_DATA_DIR=str(tmp_path))
    assert result.returncode != 0 and "DEBUG must be one of" in result.stderr


def test_it_generates_a_secret_key_once_outside_the_repository(tmp_path):
    first = env.load_or_create_secret_key(tmp_path / "secret_key")
    assert len(first) >= 50 and env.load_or_create_secret_key(tmp_path / "secret_key") == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("raw", ["ten", "1.5"])
def test_it_refuses_a_whole_number_setting_that_is_not_one(monkeypatch, raw):
    monkeypatch.setenv("ENISHI_X", raw)
    with pytest.raises(ImproperlyConfigured):
        env.env_int("ENISHI_X", 1)
