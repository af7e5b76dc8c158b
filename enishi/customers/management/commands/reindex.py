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
        table = Customer._meta.db_table
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
                    # One plain UPDATE per row through executemany: bulk_update's CASE
                    # expressions cost more to build than the writes themselves.
                    with connection.cursor() as cursor:
                        cursor.executemany(
                            f"UPDATE {table} SET search_text = %s, search_bigrams = %s WHERE id = %s",  # noqa: S608
                            [(*build_search_documents(c), c.pk) for c in rows],
                        )
                total += len(rows)
                last = rows[-1].pk
        self.stdout.write(self.style.SUCCESS(f"Re-indexed {total:,} customers."))
