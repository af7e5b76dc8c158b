from django.core.management.base import BaseCommand, CommandError

from enishi.core.demo import (
    DemoError,
    DemoNotEmptyError,
    demo_create,
    demo_login_load,
    login_message,
)
from enishi.customers.models import Customer


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo users, customers, activities and tasks, and print the "
        "login. デモ用のユーザー・顧客・活動履歴・タスクを空のデータベースに作成します。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers",
            type=int,
            default=2500,
            help="How many customer records (companies, their contacts and persons). Default 2500.",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed (same seed, same data)."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="If any customer exists, create nothing and print the demo login again.",
        )

    def handle(self, *args, customers, seed, if_empty, **options):
        if if_empty and Customer.objects.exists():
            self.stdout.write(
                "顧客データがすでにあるため、デモデータは作成しませんでした。\n"
                "Customers already exist; no demo data was created.\n"
            )
            self.stdout.write(login_message(demo_login_load()))
            return
        try:
            login = demo_create(customers=customers, seed=seed, stdout=self.stdout)
        except DemoNotEmptyError as exc:
            raise CommandError(
                f"{exc}\n(`enishi demo --if-empty` でログイン情報を再表示できます / "
                "prints the login again)"
            ) from exc
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        n = login.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"\nデモデータを作成しました({login.seconds:.1f} 秒) / Demo data created in {login.seconds:.1f} s:\n"
                f"  顧客 / customers {n['customers']:,} "
                f"(法人 / companies {n['companies']:,}, 担当者 / contacts {n['contacts']:,}, "
                f"個人 / persons {n['persons']:,})\n"
                f"  活動 / activities {n['activities']:,}, タスク / tasks {n['tasks']:,} "
                f"(未完了 / open {n['open_tasks']:,}), 項目定義 / custom fields {n['field_definitions']}\n"
                f"  商談 / deals {n['deals']:,}, 問い合わせ / inquiries {n['inquiries']:,}, "
                f"受注 / orders {n['orders']:,}, 契約 / contracts {n['contracts']:,}, "
                f"重複の候補 / duplicate candidates {n.get('duplicate_pairs', 0):,}\n"
            )
        )
        self.stdout.write(login_message(login))
        self.stdout.write("\n  起動するには / To start the server:  enishi serve\n")
