from django.core.management.base import BaseCommand
from django.db import connection, transaction

from enishi.customers import search_index
from enishi.customers.models import Customer
from enishi.customers.search import build_search_documents


class Command(BaseCommand):
    help = "Rebuild every karte's search documents and the search index (after an upgrade)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, batch, **options):
        total = 0
        last = 0
        with search_index.bulk_load(connection):
            while True:
                with transaction.atomic():
                    rows = list(
                        Customer.objects.filter(pk__gt=last)
                        .select_related("company")
                        .order_by("pk")[:batch]
                    )
                    if not rows:
                        break
                    for customer in rows:
                        customer.search_text, customer.search_bigrams = build_search_documents(
                            customer
                        )
                    Customer.objects.bulk_update(rows, ["search_text", "search_bigrams"])
                total += len(rows)
                last = rows[-1].pk
        self.stdout.write(self.style.SUCCESS(f"Re-indexed {total:,} customers."))
