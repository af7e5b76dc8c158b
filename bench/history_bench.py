"""Overhead of the change history: customer updates per second with and without recording.

    python bench/history_bench.py [--updates 2000] [--database sqlite:////tmp/history_bench.sqlite3]

Runs `customers.services.customer_update` (validation, normalisation, search documents,
optimistic lock, save, history entry) on one karte after another; then the same with
`history_record` replaced by a no-op, to show what recording costs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchlib import database_label, loadavg, machine, setup_django


def run(updates: int) -> dict[str, float]:
    from enishi.accounts.services import user_create
    from enishi.customers import services
    from enishi.customers.models import Customer

    actor = user_create(username=f"hist{time.time_ns()}", password="x", check_password=False)
    kartes = [
        services.customer_create(
            actor=actor,
            data={
                "kind": "person",
                "name": f"履歴 太郎{i}",
                "name_kana": "リレキ タロウ",
                "phone": "03-1234-5678",
            },
        )
        for i in range(200)
    ]

    def loop(label: str) -> float:
        start = time.perf_counter()
        for i in range(updates // 4):
            customer = kartes[i % len(kartes)]
            current = Customer.objects.get(pk=customer.pk)
            services.customer_update(
                actor=actor,
                customer=current,
                data={"notes": f"{label} {i}", "mobile": f"090-1{i % 1000:03d}-5678"},
                version=current.version,
            )
        return (updates // 4) / (time.perf_counter() - start)

    # Alternate rounds so that machine load and database growth hit both sides alike.
    original = services.history_record
    rates: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(4):
        rates["with"].append(loop("with"))
        services.history_record = lambda **kwargs: None  # the only change: nothing recorded
        try:
            rates["without"].append(loop("without"))
        finally:
            services.history_record = original
    with_history = statistics.median(rates["with"])
    without_history = statistics.median(rates["without"])
    return {"with_history_per_s": with_history, "without_history_per_s": without_history}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--database", default="sqlite:////tmp/enishi_history_bench.sqlite3")
    args = parser.parse_args()
    if args.database.startswith("sqlite:////"):
        Path(args.database.removeprefix("sqlite:///")).unlink(missing_ok=True)
    setup_django(args.database, migrate=True)
    result = run(args.updates)
    overhead = 1 - result["with_history_per_s"] / result["without_history_per_s"]
    print(machine(), "|", database_label(), "| load", loadavg())
    print(f"updates: {args.updates}")
    print(f"with history:    {result['with_history_per_s']:.0f} updates/s")
    print(f"without history: {result['without_history_per_s']:.0f} updates/s")
    print(f"history overhead: {overhead:.1%} of update time")


if __name__ == "__main__":
    main()
