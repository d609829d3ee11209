from django.apps import AppConfig


class SmsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sms"
    verbose_name = "SMS"

    def ready(self) -> None:
        from performance.caches import register_cache_catalog
        from sms import caches, dashboard

        dashboard.register()
        register_cache_catalog(
            lambda: [caches.phone_lookup_cache(), caches.verification_status_cache(), caches.rate_limit_status_cache()]
        )
