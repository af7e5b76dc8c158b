from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "enishi.core"
    label = "core"
