"""Accounts personas: Alice is the administrator, Bob a member of 営業1課 (root conftest)."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from enishi.core import testing


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app would show (steps_ahead=1: the next 30-second one, for a
    second log-in within the same step, since a code is accepted only once)."""
    t0 = device.t0 - steps_ahead * device.step
    value = totp(device.bin_key, step=device.step, t0=t0, digits=device.digits, drift=device.drift)
    return f"{value:0{device.digits}d}"


def log_in(client: Client, username: str, password: str = testing.PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.fixture
def bobs_phone(bob):
    """Bob has two-factor log-in on."""
    return TOTPDevice.objects.create(user=bob, name="Enishi", confirmed=True)
