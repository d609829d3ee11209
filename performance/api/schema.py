"""OpenAPI schema hooks (drf-spectacular ``PREPROCESSING_HOOKS``)."""

from __future__ import annotations

from typing import Any


def slashless_aliases_drop(
    endpoints: list[tuple[str, str, str, Any]], **kwargs: Any
) -> list[tuple[str, str, str, Any]]:
    """Leave out a path that is only the slashless alias of a listed one (performance/api/urls.py)."""
    paths = {(path, method) for path, _, method, _ in endpoints}
    return [e for e in endpoints if e[0].endswith("/") or (e[0] + "/", e[2]) not in paths]
