from django.apps import AppConfig


class LoadtestingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "loadtesting"
    verbose_name = "Load testing"
