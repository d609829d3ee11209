"""The message row becomes the outbox: queued_at / retry_at / lease_expires_at, the relay's
indexes, and (PostgreSQL) a trigger that wakes the relay with NOTIFY on every insert."""

from django.db import migrations, models

NOTIFY_CHANNEL = "sms_outbox"

CREATE_TRIGGER = f"""
CREATE OR REPLACE FUNCTION sms_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS sms_outbox_notify ON sms_inboundmessage;
CREATE TRIGGER sms_outbox_notify AFTER INSERT ON sms_inboundmessage
    FOR EACH STATEMENT EXECUTE FUNCTION sms_outbox_notify();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS sms_outbox_notify ON sms_inboundmessage;
DROP FUNCTION IF EXISTS sms_outbox_notify();
"""


def _postgresql_only(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


def _expire_old_claims(apps, schema_editor):
    # Claims made before leases existed never expire on their own: hand them back at once.
    InboundMessage = apps.get_model("sms", "InboundMessage")
    from django.utils import timezone

    InboundMessage.objects.filter(status="processing").update(lease_expires_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0003_intake_opt_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmessage", name="queued_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="inboundmessage", name="retry_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="inboundmessage", name="lease_expires_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(
                condition=models.Q(("status", "received")), fields=["queued_at"], name="sms_msg_outbox_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(
                condition=models.Q(("status", "processing")), fields=["lease_expires_at"], name="sms_msg_lease_idx"
            ),
        ),
        migrations.RunPython(_expire_old_claims, migrations.RunPython.noop),
        migrations.RunPython(_postgresql_only(CREATE_TRIGGER), _postgresql_only(DROP_TRIGGER)),
    ]
