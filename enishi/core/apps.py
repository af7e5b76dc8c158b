from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "enishi.core"
    label = "core"

    def ready(self) -> None:
        from enishi.core import lookups  # noqa: F401  (registers `__among`)
