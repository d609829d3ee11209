"""gunicorn's logger (``logger_class`` in gunicorn.conf.py): access lines with phone numbers
masked, and, with ``LOG_FORMAT=json``, gunicorn's own lines as JSON objects like the app's.

Twilio posts numbers in form bodies, which the access log never shows; a status callback URL or
a link may still carry one in its path or query string, so ``+digits`` (and ``%2B…``) in every
field of an access line become ``***`` and the last four digits (smsgateway/logs.py).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.glogging import Logger

from smsgateway.logs import JsonFormatter, numbers_mask


class MaskingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: numbers_mask(v) if isinstance(v, str) else v for k, v in atoms.items()}

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
            formatter = JsonFormatter()
            log: logging.Logger
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(formatter)
