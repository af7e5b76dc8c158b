from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "enishi.history"
    label = "history"
