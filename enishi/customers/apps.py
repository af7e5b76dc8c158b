from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "enishi.customers"
    label = "customers"
