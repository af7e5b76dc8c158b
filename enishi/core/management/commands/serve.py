import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Enishi with waitress (a production-grade WSGI server) on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("ENISHI_THREADS", "8"))
        )
        parser.add_argument(
            "--no-migrate", action="store_true", help="Do not apply pending migrations first."
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run background tasks in this process (run `enishi worker` instead).",
        )

    def handle(self, *args, host, port, threads, no_migrate, no_worker, **options):
        from waitress import serve

        from enishi.wsgi import application

        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        if not no_worker and settings.ENISHI_TASKS == "database":
            from enishi.core.background import worker_thread_start

            worker_thread_start()
        self.stdout.write(
            self.style.SUCCESS(f"Enishi is running at http://{host}:{port}/  (Ctrl+C to stop)")
        )
        serve(application, host=host, port=port, threads=threads, ident="Enishi")
