"""The processing path: ``pipeline`` (claim a message, download its media, transcribe voice
notes, extract items with ``sms.extraction``, store them, confirm), ``audio`` (probe, refuse,
transcode and chunk voice notes) and ``media_types`` (what the bytes are). ``sms.tasks`` runs it.
"""
