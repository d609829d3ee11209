"""Settings shared by every environment, one module per component: ``core`` (Django, the API,
logging), ``data`` (database and cache), ``tasks`` (Celery), ``twilio``, ``intake``,
``processing`` and ``performance``.

Everything configurable is read from the environment through ``env`` (``env_str``,
``env_int``…), the one place that reads it. With no
``DATABASE_URL`` / ``REDIS_URL`` the service runs on its embedded default: SQLite, an
in-process cache and eager Celery tasks. ``production.py`` refuses to boot without secrets.
"""

from smsgateway.settings.core import *  # noqa: F403
from smsgateway.settings.data import *  # noqa: F403
from smsgateway.settings.env import *  # noqa: F403
from smsgateway.settings.intake import *  # noqa: F403
from smsgateway.settings.performance import *  # noqa: F403
from smsgateway.settings.processing import *  # noqa: F403
from smsgateway.settings.tasks import *  # noqa: F403
from smsgateway.settings.twilio import *  # noqa: F403
