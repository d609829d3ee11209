"""Response shapes of the performance API (they document the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

Counts = serializers.DictField  # label value -> count


class WebhookQuantilesSerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True, help_text="milliseconds, bucket-interpolated")
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class QuantilesSerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True, help_text="milliseconds, bucket-interpolated")
    p95 = serializers.FloatField(allow_null=True)


class ThroughputWindowSerializer(serializers.Serializer):
    seconds = serializers.FloatField(help_text="span really covered by the stored samples")
    webhooks_per_second = serializers.FloatField(allow_null=True)
    processed_per_second = serializers.FloatField(allow_null=True)


class WebhookStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    latency_ms = WebhookQuantilesSerializer()
    outcomes = Counts(child=serializers.IntegerField())
    signature_failures = Counts(child=serializers.IntegerField())
    rejected = Counts(child=serializers.IntegerField())
    rate_limit_hits = serializers.IntegerField()
    rate_limit_unavailable = serializers.IntegerField()


class KindStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    latency_ms = QuantilesSerializer()
    outcomes = Counts(child=serializers.IntegerField())


class ProcessingStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    latency_ms = QuantilesSerializer()
    by_kind = serializers.DictField(child=KindStatsSerializer())
    outcomes = Counts(child=serializers.IntegerField())


class MediaStatsSerializer(serializers.Serializer):
    download_latency_ms = QuantilesSerializer()
    downloads = serializers.IntegerField()
    bytes = serializers.IntegerField()


class SpeechStatsSerializer(serializers.Serializer):
    latency_ms = QuantilesSerializer()
    calls = serializers.IntegerField()


class GeminiStatsSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    latency_ms = QuantilesSerializer()
    outcomes = Counts(child=serializers.IntegerField(), help_text="ok, invalid_output, unavailable, rejected")
    tokens_in = serializers.IntegerField(help_text="prompt tokens (usage_metadata)")
    tokens_out = serializers.IntegerField(help_text="candidate and thinking tokens (usage_metadata)")
    cost_usd = serializers.FloatField(help_text="estimated from GEMINI_PRICE_*_PER_MILLION_TOKENS")
    cost_per_call_usd = serializers.FloatField(allow_null=True)


class ErrorStatsSerializer(serializers.Serializer):
    processing = Counts(child=serializers.IntegerField(), help_text="by error code")
    speech = Counts(child=serializers.IntegerField())
    gemini = Counts(child=serializers.IntegerField(), help_text="by reason")
    media_download = Counts(child=serializers.IntegerField())
    cache = Counts(child=serializers.IntegerField(), help_text="backend failures by cache")
    outbound_sms_failed = serializers.IntegerField()


class LifetimeSerializer(serializers.Serializer):
    webhooks = serializers.IntegerField()
    processed = serializers.IntegerField()
    processing_errors = serializers.IntegerField()
    outbound_sms = Counts(child=serializers.IntegerField())
    gemini_cost_usd = serializers.FloatField(help_text="estimated Gemini cost since the processes started")


class CacheStatsSerializer(serializers.Serializer):
    name = serializers.CharField()
    ttl = serializers.IntegerField(allow_null=True, help_text="seconds; null when only seen in other processes")
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    sets = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    hit_rate = serializers.FloatField(allow_null=True, help_text="hits / (hits + misses); null before any lookup")
    local_hits = serializers.IntegerField(help_text="of the hits, those answered by a process's near cache, not Redis")
    live_entries = serializers.IntegerField(allow_null=True, help_text="keys alive now (SCAN)")
    lifetime_hits = serializers.IntegerField()
    lifetime_misses = serializers.IntegerField()


class PoolStatsSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    in_use = serializers.IntegerField()
    idle = serializers.IntegerField()
    waiting = serializers.IntegerField()
    max = serializers.IntegerField()


class PoolTotalsSerializer(PoolStatsSerializer):
    processes = serializers.IntegerField(help_text="processes reporting this pool")


class ProcessSerializer(serializers.Serializer):
    host = serializers.CharField()
    pid = serializers.IntegerField()
    role = serializers.CharField()
    started_at = serializers.FloatField(help_text="unix time")
    age_seconds = serializers.FloatField(help_text="age of the snapshot")
    pools = serializers.DictField(child=serializers.DictField(), help_text="pool -> PoolStats (or {error})")


class ConnectionStatsSerializer(serializers.Serializer):
    processes = ProcessSerializer(many=True)
    totals = serializers.DictField(child=PoolTotalsSerializer())


class IndexStatsSerializer(serializers.Serializer):
    name = serializers.CharField()
    scans = serializers.IntegerField(help_text="idx_scan")
    tuples_read = serializers.IntegerField()
    bytes = serializers.IntegerField()


class TableStatsSerializer(serializers.Serializer):
    name = serializers.CharField()
    rows = serializers.IntegerField(help_text="live-tuple estimate")
    total_bytes = serializers.IntegerField()
    table_bytes = serializers.IntegerField()
    seq_scan = serializers.IntegerField()
    idx_scan = serializers.IntegerField()
    indexes = IndexStatsSerializer(many=True)


class DbConnectionsSerializer(serializers.Serializer):
    application_name = serializers.CharField()
    application = Counts(child=serializers.IntegerField(), help_text="our connections by state")
    application_total = serializers.IntegerField()
    database = Counts(child=serializers.IntegerField(), help_text="all clients of this database by state")
    database_total = serializers.IntegerField()
    server_max_connections = serializers.IntegerField()


class DatabaseStatsSerializer(serializers.Serializer):
    vendor = serializers.CharField()
    connections = DbConnectionsSerializer(allow_null=True)
    pools = PoolTotalsSerializer(allow_null=True)
    tables = TableStatsSerializer(many=True)


class BacklogSerializer(serializers.Serializer):
    name = serializers.CharField()
    depth = serializers.IntegerField(allow_null=True, help_text="null: could not be read")
    oldest_seconds = serializers.FloatField(allow_null=True)
    degrades = serializers.BooleanField(help_text="while not empty, health says degraded")
    help = serializers.CharField(allow_blank=True)


class StatsSerializer(serializers.Serializer):
    generated_at = serializers.FloatField()
    uptime_seconds = serializers.FloatField(help_text="since the oldest live process started")
    reset_at = serializers.FloatField(allow_null=True)
    seconds_since_reset = serializers.FloatField(allow_null=True)
    unavailable = serializers.ListField(
        child=serializers.CharField(), help_text="parts that could not be read (Redis or PostgreSQL down)"
    )
    throughput = serializers.DictField(child=ThroughputWindowSerializer(), help_text='keys "1m" and "5m"')
    webhook = WebhookStatsSerializer()
    processing = ProcessingStatsSerializer()
    media = MediaStatsSerializer()
    speech = SpeechStatsSerializer()
    gemini = GeminiStatsSerializer()
    outbound_sms = Counts(child=serializers.IntegerField())
    errors = ErrorStatsSerializer()  # type: ignore[assignment]
    http_responses = Counts(child=serializers.IntegerField(), help_text="HTTP responses by status")
    queue_depth = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    backlog = BacklogSerializer(many=True, help_text="work waiting outside the broker queue (outbox, spool)")
    lifetime = LifetimeSerializer()
    caches = CacheStatsSerializer(many=True)
    connections = ConnectionStatsSerializer()
    database = DatabaseStatsSerializer()


class HealthCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    milliseconds = serializers.FloatField()
    error = serializers.CharField(allow_blank=True)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded", "failing"])
    failing = serializers.ListField(child=serializers.CharField())
    degraded = serializers.ListField(
        child=serializers.CharField(), help_text="backlogs holding accepted work (spool, outbox)"
    )
    checks = HealthCheckSerializer(many=True)


class ResetSerializer(serializers.Serializer):
    reset_at = serializers.FloatField()
