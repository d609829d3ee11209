"""Performance API (docs/PERFORMANCE.md): staff only, except ``health``.

Token authentication comes first so an anonymous caller gets 401 with a
``WWW-Authenticate: Token`` challenge; a signed-in non-staff user gets 403.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, BasePermission, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from performance.api import serializers as s
from performance.health import health_check
from performance.services import metrics_reset
from performance.stats import (
    cache_stats_list,
    connection_stats_get,
    database_stats_get,
    performance_stats_get,
)


class IsSuperuser(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)


class _StaffApi(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]


class PerformanceStatsDetailApi(_StaffApi):
    """Everything in one document, all processes together, since the last reset (docs/PERFORMANCE.md)."""

    OutputSerializer = s.StatsSerializer

    @extend_schema(responses=OutputSerializer, summary="Everything in one document, since the last reset")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(performance_stats_get()).data)


class PerformanceCacheListApi(_StaffApi):
    """Named caches: hits, misses and hit rate since reset, live entries (SCAN), TTL."""

    OutputSerializer = s.CacheStatsSerializer

    @extend_schema(responses=OutputSerializer(many=True), summary="Named caches: hit rate, live entries, TTL")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(cache_stats_list(), many=True).data)


class PerformanceDatabaseDetailApi(_StaffApi):
    """PostgreSQL connections by state, pool totals, and per table size, rows and index scans."""

    OutputSerializer = s.DatabaseStatsSerializer

    @extend_schema(responses=OutputSerializer, summary="Connections by state, pool, table and index usage")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(database_stats_get()).data)


class PerformanceConnectionsDetailApi(_StaffApi):
    """Every pool (size, in use, idle, waiting, max) of every live process, with totals."""

    OutputSerializer = s.ConnectionStatsSerializer

    @extend_schema(responses=OutputSerializer, summary="Every pool of every live process, with totals")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(connection_stats_get()).data)


class PerformanceHealthCheckApi(APIView):
    """Public: 200 when PostgreSQL, Redis and the broker answer in time, else 503. "degraded"
    (still 200) while accepted work waits on a dependency, e.g. messages in the intake spool."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    OutputSerializer = s.HealthSerializer

    @extend_schema(responses={200: OutputSerializer, 503: OutputSerializer}, summary="Dependency health")
    def get(self, request: Request) -> Response:
        health = health_check()
        data = {
            "status": health.status,
            "failing": health.failing,
            "degraded": health.degraded,
            "checks": [c.__dict__ for c in health.checks],
        }
        # Degraded still serves (accepted work is only waiting): the load balancer keeps the node.
        code = status.HTTP_503_SERVICE_UNAVAILABLE if health.failing else status.HTTP_200_OK
        response = Response(self.OutputSerializer(data).data, status=code)
        response["Cache-Control"] = "no-store"
        return response


class PerformanceResetApi(_StaffApi):
    """Superuser: "since reset" figures start now. Prometheus counters are not touched."""

    permission_classes = [IsSuperuser]

    OutputSerializer = s.ResetSerializer

    @extend_schema(request=None, responses=OutputSerializer, summary="Start since-reset figures now")
    def post(self, request: Request) -> Response:
        return Response(self.OutputSerializer({"reset_at": metrics_reset()}).data)
