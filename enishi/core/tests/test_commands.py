import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import CommandError, call_command

from enishi.accounts.models import User


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_it_creates_an_admin_from_the_command_line():
    call_command(
        "createuser",
        "hanako",
        "--password",
        "a-long-and-unusual-passphrase-7",
        "--admin",
        "--team",
        "営業1課",
        "--name",
        "花子",
    )
    user = User.objects.get(username="hanako")
    assert (
        user.is_superuser
        and user.team.name == "営業1課"
        and user.check_password("a-long-and-unusual-passphrase-7")
    )


@pytest.mark.django_db
def test_it_refuses_a_weak_password():
    with pytest.raises(CommandError):
        call_command("createuser", "weak", "--password", "12345678")
    assert not User.objects.filter(username="weak").exists()


def test_it_serves_the_app_on_127_0_0_1(tmp_path):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment["ENISHI_DATA_DIR"] = str(tmp_path)
    port = _free_port()
    cli = [sys.executable, "-m", "enishi.cli"]
    subprocess.run([*cli, "migrate", "-v0"], env=environment, check=True, timeout=120)
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=2
                ) as response:  # noqa: S310
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/accounts/login/", timeout=5
        ) as response:  # noqa: S310
            page = response.read().decode()
            assert "縁" in page and "/static/enishi/enishi." in page
            css = page.split('href="/static/enishi/enishi.')[1].split('"')[0]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/enishi/enishi.{css}", timeout=5
        ) as response:  # noqa: S310
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
