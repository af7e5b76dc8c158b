"""A small explicit factory for tests: plain functions, real services, no magic."""

import itertools

from enishi.accounts.models import Team, User
from enishi.accounts.services import user_create
from enishi.activities import services as activity_services
from enishi.customers import services as customer_services
from enishi.customers.models import Customer

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - test-only password
_seq = itertools.count(1)


def make_user(
    username: str | None = None, *, admin: bool = False, team: str = "", name: str = ""
) -> User:
    username = username or f"user{next(_seq)}"
    team_obj = Team.objects.get_or_create(name=team)[0] if team else None
    return user_create(
        username=username,
        password=PASSWORD,
        display_name=name or username,
        is_admin=admin,
        team=team_obj,
        check_password=False,
    )


def make_customer(actor: User | None = None, **data) -> Customer:
    data.setdefault("kind", Customer.Kind.PERSON)
    data.setdefault("name", f"テスト 顧客{next(_seq)}")
    return customer_services.customer_create(actor=actor, data=data)


def make_company(actor: User | None = None, **data) -> Customer:
    return make_customer(actor, **{"kind": Customer.Kind.COMPANY, **data})


def log_call(actor: User, customer: Customer, **data):
    data.setdefault("type", "call")
    data.setdefault("subject", "電話")
    return activity_services.activity_log(actor=actor, customer=customer, **data)
