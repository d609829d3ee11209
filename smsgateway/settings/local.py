"""Development settings: the embedded default unless DATABASE_URL / REDIS_URL are set."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
