from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from enishi.accounts.models import Team, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    is_admin: bool = False,
    team: Team | None = None,
    language: str = "ja",
    check_password: bool = True,
    role: str = User.Role.MEMBER,
) -> User:
    user = User(
        username=username,
        display_name=display_name,
        email=email,
        team=team,
        language=language,
        is_staff=is_admin,
        is_superuser=is_admin,
        role=User.Role.ADMIN if is_admin else role,
    )
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def user_set_language(*, user: User, language: str) -> User:
    if language not in User.Language.values:
        raise ValueError(language)
    user.language = language
    user.save(update_fields=["language"])
    return user
