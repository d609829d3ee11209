from django.apps import AppConfig


class SmsgatewayConfig(AppConfig):
    """The project itself, as an app only to register its system checks (smsgateway/checks.py)."""

    name = "smsgateway"

    def ready(self) -> None:
        from smsgateway import checks  # noqa: F401  (registers them)
