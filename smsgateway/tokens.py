"""API tokens (django-rest-knox): only a hash is stored, each expires, and a password change
revokes them all. Clients send ``Authorization: Token <token>`` as before."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from knox.models import AuthToken


def api_token_create(*, user: AbstractBaseUser) -> str:
    """A new token for ``user``; the caller sees it once, the database keeps its digest."""
    _instance, token = AuthToken.objects.create(user=user)
    return str(token)


def api_tokens_revoke(*, user_id: int) -> int:
    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    return int(deleted)


def tokens_revoke_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save of the user model: a changed password hash revokes every API token."""
    if instance.pk is None or kwargs.get("raw"):
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "password" not in update_fields:
        return
    stored = type(instance).objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        api_tokens_revoke(user_id=instance.pk)
