import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from enishi.accounts.models import Team
from enishi.accounts.services import user_create


class Command(BaseCommand):
    help = "Create a staff user (use --admin for an administrator)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--password", help="Asked for when omitted (safer than the command line)."
        )
        parser.add_argument("--name", default="", help="Display name, e.g. 山田 太郎")
        parser.add_argument("--email", default="")
        parser.add_argument("--team", default="", help="Team name (created when missing)")
        parser.add_argument("--admin", action="store_true")
        parser.add_argument("--language", default="ja", choices=["ja", "en"])

    def handle(self, *args, username, password, name, email, team, admin, language, **options):
        if password is None:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        team_obj = Team.objects.get_or_create(name=team)[0] if team else None
        try:
            user = user_create(
                username=username,
                password=password,
                display_name=name,
                email=email,
                is_admin=admin,
                team=team_obj,
                language=language,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Created {'administrator' if admin else 'user'} {user.username}.")
        )
