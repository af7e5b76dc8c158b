"""One-time links to set a password (invitations, and new links for people locked out)."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


class SetPasswordTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens (valid for PASSWORD_RESET_TIMEOUT, spent once the password
    changes), also spent when the account is deactivated."""

    key_salt = "enishi.accounts.tokens.SetPasswordTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


set_password_tokens = SetPasswordTokenGenerator()


def set_password_path(user) -> str:
    return reverse(
        "accounts:set_password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": set_password_tokens.make_token(user),
        },
    )
