"""MediaAttachment.file without the upload_to nothing used (the pipeline names each stored file).
upload_to lives only in Python: this changes no SQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sms", "0007_item_person_date")]
    operations = [migrations.AlterField("mediaattachment", "file", models.FileField(blank=True, max_length=512))]
