from django.apps import AppConfig


class PerformanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "performance"
    verbose_name = "Performance"

    def ready(self) -> None:
        from celery.signals import worker_process_init
        from django.contrib import admin

        from performance.pool_snapshots import ensure_publisher
        from performance.process_pools import register_standard_pools

        register_standard_pools()
        # The admin index links the Performance page (templates/admin/performance_index.html).
        admin.site.index_template = "admin/performance_index.html"
        # gunicorn workers import Django after the fork, so ready() runs in each of them; Celery
        # prefork children are forked after ready(), so they start their thread on init.
        ensure_publisher()
        worker_process_init.connect(lambda **kwargs: ensure_publisher(), weak=False)
