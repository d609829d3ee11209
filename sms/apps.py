from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_delete, pre_save


class SmsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sms"
    verbose_name = "SMS"

    def ready(self) -> None:
        from performance.backlog import register_backlog
        from performance.caches import register_cache_catalog
        from sms import performance_panels, relay
        from sms.senders import sender_caches

        performance_panels.register()
        register_backlog("outbox", relay.outbox_backlogs)
        register_backlog("spool", relay.spool_backlogs)
        register_cache_catalog(sender_caches)
        # However a user is deleted, their files and Redis keys go too (sms.services.accounts).
        pre_delete.connect(_user_pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="sms_user_purge")
        # A new password revokes every API token of the user (smsgateway/tokens.py).
        from smsgateway.tokens import tokens_revoke_on_password_change

        pre_save.connect(
            tokens_revoke_on_password_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="api_tokens_revoke"
        )


def _user_pre_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    from sms.services.accounts import user_data_purge_schedule

    user_data_purge_schedule(user=instance)
