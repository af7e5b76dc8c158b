from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "enishi.activities"
    label = "activities"
