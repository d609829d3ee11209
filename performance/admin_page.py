"""The admin Performance page (``/admin/performance/``) and its actions.

``performance`` knows nothing about SMS (docs/ARCHITECTURE.md, "Parts"). Apps that want a panel (e.g. recent
failed messages) or an action (e.g. forget one phone number's cached entries) register them
here from their ``AppConfig.ready()``; the page renders whatever is registered.

Every action is a POST with CSRF, answered first by a confirmation page; only the
confirmed second POST acts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from performance.caches import registered_caches
from performance.services import metrics_reset, named_cache_clear
from performance.stats import performance_stats_get

logger = logging.getLogger(__name__)

Cell = str | tuple[str, str]  # text, or (text, link)


@dataclass(frozen=True)
class DashboardPanel:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    empty_text: str = "Nothing to show."


@dataclass(frozen=True)
class DashboardAction:
    name: str
    label: str
    description: str
    # Receives the submitted value ("" when the action takes none); returns the success message.
    # ValueError carries a message for the operator.
    handler: Callable[[str], str]
    superuser_only: bool = True
    input_label: str = ""
    choices: Callable[[], list[str]] | None = None


_panels: dict[str, Callable[[], DashboardPanel]] = {}
_actions: dict[str, DashboardAction] = {}


def register_panel(name: str, provider: Callable[[], DashboardPanel]) -> None:
    _panels[name] = provider


def register_action(action: DashboardAction) -> None:
    _actions[action.name] = action


def _reset(_: str) -> str:
    metrics_reset()
    return "Metrics reset: figures now count from this moment (Prometheus counters are unchanged)."


def _clear_cache(name: str) -> str:
    try:
        removed = named_cache_clear(name=name)
    except LookupError:
        raise ValueError(f"No named cache called {name!r}.") from None
    return f"Cleared {removed} entries of the {name} cache."


register_action(
    DashboardAction(
        name="reset_metrics",
        label="Reset metrics",
        description="Start all counts, rates and percentiles on this page from now.",
        handler=_reset,
    )
)
register_action(
    DashboardAction(
        name="clear_cache",
        label="Clear named cache",
        description="Delete every entry of one named cache; the next lookups go to the database.",
        handler=_clear_cache,
        input_label="cache",
        choices=lambda: list(registered_caches()),
    )
)


def _allowed(request: HttpRequest, action: DashboardAction) -> bool:
    return bool(request.user.is_superuser) if action.superuser_only else bool(request.user.is_staff)


def _cell(cell: Cell) -> dict[str, str]:
    return {"text": cell[0], "url": cell[1]} if isinstance(cell, tuple) else {"text": cell, "url": ""}


def _panels_rendered() -> list[dict[str, Any]]:
    panels = []
    for name, provider in sorted(_panels.items()):
        try:
            panel = provider()
        except Exception:
            logger.exception("performance panel %s failed", name)
            panel = DashboardPanel(title=name, columns=[], rows=[], empty_text="This panel failed to load.")
        rows = [[_cell(cell) for cell in row] for row in panel.rows]
        panels.append({"title": panel.title, "columns": panel.columns, "rows": rows, "empty_text": panel.empty_text})
    return panels


def dashboard_view(request: HttpRequest) -> HttpResponse:
    stats = performance_stats_get()
    actions = [
        {"action": a, "choices": a.choices() if a.choices else None}
        for a in sorted(_actions.values(), key=lambda a: a.name)
        if _allowed(request, a)
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Performance",
        "stats": stats,
        "pools": sorted(stats["connections"]["totals"].items()),
        "panels": _panels_rendered(),
        "actions": actions,
    }
    return TemplateResponse(request, "performance/dashboard.html", context)


@require_POST
def action_view(request: HttpRequest, name: str) -> HttpResponse:
    action = _actions.get(name)
    if action is None:
        raise Http404("unknown action")
    if not _allowed(request, action):
        raise PermissionDenied
    value = request.POST.get("value", "").strip()
    if action.choices is not None and value not in action.choices():
        messages.error(request, f"Choose a {action.input_label} from the list.")
        return HttpResponseRedirect(reverse("performance-dashboard"))
    if request.POST.get("confirmed") != "yes":
        context = {
            **admin.site.each_context(request),
            "title": f"{action.label}: are you sure?",
            "action": action,
            "value": value,
        }
        return TemplateResponse(request, "performance/confirm.html", context)
    try:
        message = action.handler(value)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        logger.info("performance action %s by user %s", action.name, request.user.pk)
        messages.success(request, message)
    return HttpResponseRedirect(reverse("performance-dashboard"))


def dashboard_urls() -> list:
    return [
        path("", admin.site.admin_view(dashboard_view), name="performance-dashboard"),
        path("action/<slug:name>/", admin.site.admin_view(action_view), name="performance-action"),
    ]
