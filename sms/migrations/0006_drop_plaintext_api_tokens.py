"""API tokens moved to django-rest-knox, which stores only a hash (smsgateway/tokens.py). The old
DRF tokens were stored in plain text: drop them, which revokes them (users get new ones from
``POST /api/auth/token``). A no-op where the table never existed."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sms", "0005_twilio_delivery")]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop)]
