from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "enishi.accounts"
    label = "accounts"
