"""The processing path (docs/ARCHITECTURE.md): one accepted message to pending enrichment items.

``inbound_message_process`` claims the message (``received → processing``), downloads every
attachment to a temp file (one byte budget for the whole message), transcribes voice notes,
stores images and videos through Django's storage, runs the extractor, and writes all items
with one ``bulk_create`` in the same transaction that marks the message ``processed``. That
transaction re-checks the status under a row lock, so a redelivered or concurrent run never
duplicates items. After commit it texts the sender and deletes the media from Twilio.

Errors carry a ``code`` and ``is_transient``: transient ones put the message back in the
outbox (``received``, held until ``retry_at`` by exponential backoff) for the relay to hand out
again; permanent ones (and transient ones on the last attempt)
mark it ``failed`` and text a friendly reason. Temp files are removed in every outcome.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from performance import metrics
from performance.caches import day_counter_add
from sms.clients.media import ByteBudget, DownloadedMedia, get_media_client
from sms.clients.speech import get_speech_client
from sms.clients.twilio import TwilioError, get_twilio_client
from sms.exceptions import SmsError
from sms.extraction import (
    ExtractedItem,
    MediaContent,
    MessageContent,
    TranscriptContent,
    get_extractor,
    items_cap,
)
from sms.leases import lease_hold
from sms.masking import mask_phone
from sms.models import EnrichmentItem, InboundMessage, MediaAttachment, MessageStatus, OutboundPurpose
from sms.processing.audio import AudioError, AudioTooLongError, AudioUnsupportedError, probe, speech_chunks
from sms.processing.media_types import (
    AUDIO_TYPES,
    AV_CONTAINERS,
    EXTENSIONS,
    IMAGE_TYPES,
    MAX_TEXT_PART_BYTES,
    OCTET_STREAM,
    TEXT_TYPES,
    VCARD_TYPES,
    VIDEO_TYPES,
)
from sms.services.outbound import sms_reply_send
from smsgateway.logs import log_context

logger = logging.getLogger(__name__)

# A message redelivered this many times beyond its retries (a worker dying on it each time) fails.
EXTRA_DELIVERIES = 3

# error code -> failure reply kind (SMS_FAILURE_REPLIES)
REPLY_KINDS = {
    "media_too_large": "too_large",
    "unsupported_type": "unsupported",
    "corrupt_media": "unsupported",
    "could_not_transcribe": "could_not_transcribe",
    "audio_too_long": "audio_too_long",
    "speech_budget": "speech_budget",
    "transcription_failed": "could_not_transcribe",
}


class ProcessingError(SmsError, code="processing_error"): ...


class ProcessingOutcome(enum.StrEnum):
    """What one processing attempt did (the task's return value)."""

    PROCESSED = "processed"  # items stored, confirmation sent
    FAILED = "failed"  # for good, with an error code
    RETRY = "retry"  # back in the outbox with a backoff
    SKIPPED = "skipped"  # not claimable now: done, or claimed by a live worker
    MISSING = "missing"  # no such message (deleted with its account)


@dataclass(frozen=True)
class ProcessingResult:
    outcome: ProcessingOutcome
    error_code: str = ""
    items: int = 0


@dataclass
class _Work:
    message: InboundMessage
    attachments: list[MediaAttachment]
    temp_files: list[Path] = field(default_factory=list)
    stored_names: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)


def inbound_message_process(*, message_id: int) -> ProcessingResult:
    """Process one message. Never raises for expected failures; the result says what happened.

    The claim is a lease (``SMS_PROCESSING_LEASE_SECONDS``) renewed by this process while the
    work runs (``sms/leases.py``); the attempt number is the claim's token, so a run whose lease
    was taken over by another saves nothing.
    """
    message = _claim(message_id)
    if isinstance(message, ProcessingResult):
        return message
    with log_context(message_sid=message.message_sid, message_id=message.pk):
        result = _process(message)
        logger.info("message %s: %s (attempt %s)", message_id, result.outcome, message.attempts)
        return result


def _process(message: InboundMessage) -> ProcessingResult:
    message_id = message.pk
    is_last_attempt = message.attempts > settings.SMS_PROCESSING_MAX_RETRIES
    attachments = list(message.media.order_by("index")) if message.num_media else []
    work = _Work(message=message, attachments=attachments)
    with lease_hold(message_id=message.pk, attempt=message.attempts):
        try:
            content = _gather(work)
            extracted = get_extractor().extract(content)
            # Whatever the extractor, one message cannot flood the review inbox (notes first).
            items = items_cap(extracted, message_id=message_id)
            if len(items) < len(extracted):
                metrics.PROCESSING_ERRORS.labels("items_capped").inc()
            if not items and work.kinds & {"audio"} and not content.transcripts:
                raise ProcessingError("no speech recognised", code="could_not_transcribe")
            if not items and "unsupported" in work.kinds:
                raise ProcessingError("no attachment of a supported type", code="unsupported_type")
            return _store(work, items, content)
        except SmsError as exc:
            # Error texts name statuses, hosts and types, never message content.
            logger.info("message %s attempt %s: %s: %s", message_id, message.attempts, exc.code, exc)
            _delete_stored(work.stored_names)
            return _fail_or_retry(work, code=exc.code, is_transient=exc.is_transient, is_last_attempt=is_last_attempt)
        except SoftTimeLimitExceeded:
            # Work this long is what a retry would repeat (hours of audio, a hostile file): give up.
            _delete_stored(work.stored_names)
            logger.warning("message %s attempt %s hit the task time limit", message_id, message.attempts)
            return _fail_or_retry(work, code="time_limit", is_transient=False, is_last_attempt=True)
        except Exception:
            _delete_stored(work.stored_names)
            logger.exception("processing message %s crashed", message_id)
            return _fail_or_retry(work, code="internal_error", is_transient=True, is_last_attempt=is_last_attempt)
        finally:
            for path in work.temp_files:
                path.unlink(missing_ok=True)


# A message is claimable when it waits in the outbox, or when its last claim's lease ran out
# (the worker died); a live claim is never taken twice.
_CLAIM_SQL = """
    UPDATE sms_inboundmessage
       SET status = %s, attempts = attempts + 1, processing_started_at = %s, lease_expires_at = %s, retry_at = NULL
     WHERE id = %s AND user_id IS NOT NULL AND attempts < %s
       AND (status = %s OR (status = %s AND lease_expires_at < %s))
 RETURNING *
"""


def _claim(message_id: int) -> InboundMessage | ProcessingResult:
    # One statement (autocommit) on the hot path: claim and load the row together.
    limit = settings.SMS_PROCESSING_MAX_RETRIES + 1 + EXTRA_DELIVERIES
    now = timezone.now()
    params = [
        MessageStatus.PROCESSING.value,
        now,
        now + timedelta(seconds=settings.SMS_PROCESSING_LEASE_SECONDS),
        message_id,
        limit,
        MessageStatus.RECEIVED.value,
        MessageStatus.PROCESSING.value,
        now,
    ]
    claimed = list(InboundMessage.objects.raw(_CLAIM_SQL, params))
    if claimed:
        return claimed[0]
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            logger.info("message %s is gone (deleted before processing): nothing to do", message_id)
            return ProcessingResult(ProcessingOutcome.MISSING)
        if message.status in (MessageStatus.PROCESSED, MessageStatus.FAILED):
            logger.info("message %s already %s: skipped", message_id, message.status)
            return ProcessingResult(ProcessingOutcome.SKIPPED)
        if message.status == MessageStatus.PROCESSING and message.user_id is not None and message.attempts < limit:
            # Another worker holds a live lease (a redelivered or duplicated task): leave it.
            logger.info("message %s is being processed elsewhere: skipped", message_id)
            return ProcessingResult(ProcessingOutcome.SKIPPED)
        code = "no_user" if message.user_id is None else "too_many_attempts"
        _mark_failed(message, code)
    return ProcessingResult(ProcessingOutcome.FAILED, code)


def _gather(work: _Work) -> MessageContent:
    message = work.message
    budget = ByteBudget(settings.SMS_MEDIA_MAX_BYTES)
    deadline = time.monotonic() + settings.SMS_MEDIA_DEADLINE
    media: list[MediaContent] = []
    transcripts: list[TranscriptContent] = []
    texts: list[str] = []
    client = get_media_client() if work.attachments else None
    for attachment in work.attachments:
        assert client is not None
        downloaded = client.download(
            attachment.url, budget=budget, deadline=deadline, declared_content_type=attachment.declared_content_type
        )
        work.temp_files.append(downloaded.path)
        content_type = _refine_type(downloaded)
        is_text_like = content_type == OCTET_STREAM or content_type in TEXT_TYPES
        text = _text_part(downloaded, attachment.declared_content_type) if is_text_like else None
        if text is not None:
            content_type = "text/plain"
        attachment.sniffed_content_type = content_type
        attachment.size_bytes = downloaded.size_bytes
        stored_name = ""
        if content_type in AUDIO_TYPES:
            work.kinds.add("audio")
            transcript = _transcribe(downloaded.path, attachment, user_id=message.user_id)
            if transcript is not None:
                transcripts.append(transcript)
        elif content_type in IMAGE_TYPES or content_type in VIDEO_TYPES:
            work.kinds.add("image" if content_type in IMAGE_TYPES else "video")
            stored_name = _store_file(message, attachment, downloaded.path, content_type)
            work.stored_names.append(stored_name)
            attachment.file.name = stored_name
        elif content_type in VCARD_TYPES:
            work.kinds.add("contact")
        elif text is not None:
            work.kinds.add("text")
            if text:
                texts.append(text)
        else:
            work.kinds.add("unsupported")
            logger.info("message %s attachment %s: unsupported type %s", message.pk, attachment.index, content_type)
        media.append(MediaContent(attachment.pk, attachment.index, content_type, downloaded.path, stored_name))
    # Text parts are part of the note: the body first, then each part in order.
    body = "\n\n".join(part for part in [message.body.strip(), *texts] if part) if texts else message.body
    return MessageContent(
        message_id=message.pk,
        body=body,
        is_mms=bool(work.attachments),
        media=media,
        transcripts=transcripts,
        received_at=message.received_at,
        region=_region(message.from_number),
    )


def _region(number: str) -> str:
    """The sender's region, for numbers typed without a country code (else the default)."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        region = None
    return region or settings.SMS_DEFAULT_REGION


def _text_part(downloaded: DownloadedMedia, declared_content_type: str) -> str | None:
    """The text of a part declared ``text/plain`` whose bytes are UTF-8 text (None: not text)."""
    if declared_content_type.split(";", 1)[0].strip() not in TEXT_TYPES:
        return None
    if downloaded.size_bytes > MAX_TEXT_PART_BYTES:
        return None
    try:
        text = downloaded.path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return text.strip()


def _refine_type(downloaded: DownloadedMedia) -> str:
    """MP4/3GP/MOV hold audio or video: a file without a video stream is a voice note."""
    content_type = downloaded.sniffed_content_type
    if content_type in AV_CONTAINERS:
        info = probe(downloaded.path)
        if not info.has_video and info.has_audio:
            return "audio/3gpp" if content_type == "video/3gpp" else "audio/mp4"
    return content_type


def _speech_budget_take(*, user_id: int | None, seconds: float) -> None:
    """Count ``seconds`` of Speech against the user's daily allowance (Redis, per UTC day);
    over it, the voice note fails for good. Without Redis (the embedded default) there is no
    allowance to count."""
    limit = float(settings.SMS_SPEECH_SECONDS_PER_USER_PER_DAY)
    if user_id is None or limit <= 0:
        return
    used = day_counter_add(f"speech:{user_id}", seconds)
    if used is not None and used > limit:
        day_counter_add(f"speech:{user_id}", -seconds)  # what was refused is not spent
        metrics.PROCESSING_ERRORS.labels("speech_budget").inc()
        raise ProcessingError(f"daily Speech allowance of {limit:.0f} s used", code="speech_budget")


def _transcribe(path: Path, attachment: MediaAttachment, *, user_id: int | None = None) -> TranscriptContent | None:
    try:
        chunks = speech_chunks(
            path, max_chunk_seconds=settings.SPEECH_MAX_CHUNK_SECONDS, max_seconds=settings.SMS_AUDIO_MAX_SECONDS
        )
    except (AudioUnsupportedError, AudioTooLongError):
        raise
    except AudioError as exc:
        raise ProcessingError(str(exc), code="could_not_transcribe") from exc
    _speech_budget_take(user_id=user_id, seconds=sum(chunk.seconds for chunk in chunks))
    client = get_speech_client()
    texts: list[str] = []
    confidences: list[float] = []
    for chunk in chunks:
        result = client.recognize(
            content=chunk.content,
            encoding=chunk.encoding,
            sample_rate_hertz=chunk.sample_rate_hertz,
            channels=chunk.channels,
        )
        if result.text:
            texts.append(result.text)
        if result.confidence is not None:
            confidences.append(result.confidence)
    text = " ".join(texts).strip()
    if not text:
        return None
    return TranscriptContent(
        attachment_id=attachment.pk,
        index=attachment.index,
        text=text,
        confidence=round(sum(confidences) / len(confidences), 3) if confidences else None,
        seconds=sum(chunk.seconds for chunk in chunks),
    )


def _store_file(message: InboundMessage, attachment: MediaAttachment, path: Path, content_type: str) -> str:
    # A deterministic name, so a retried message overwrites its own earlier upload.
    name = f"sms/{message.user_id}/{message.message_sid}/{attachment.index}.{EXTENSIONS.get(content_type, 'bin')}"
    if default_storage.exists(name):
        default_storage.delete(name)
    with path.open("rb") as fh:
        return default_storage.save(name, File(fh))


def _delete_stored(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete stored media %s", name, exc_info=True)


def _message_kind(work: _Work) -> str:
    for kind in ("audio", "image", "video"):
        if kind in work.kinds:
            return kind
    return "mms" if work.attachments else "sms"


def _store(work: _Work, items: list[ExtractedItem], content: MessageContent) -> ProcessingResult:
    message = work.message
    user_id = message.user_id
    assert user_id is not None  # _claim fails messages without a user
    by_id = {a.pk: a for a in work.attachments}
    now = timezone.now()
    try:
        with transaction.atomic():
            # The conditional UPDATE takes the row lock first: a concurrent or redelivered run
            # of the same message waits here, then finds it processed and saves nothing.
            updated = InboundMessage.objects.filter(
                pk=message.pk, status=MessageStatus.PROCESSING, attempts=message.attempts
            ).update(status=MessageStatus.PROCESSED, processed_at=now, error_code="", lease_expires_at=None)
            if not updated:
                if not InboundMessage.objects.filter(pk=message.pk).exists():
                    raise InboundMessage.DoesNotExist
                _delete_stored(work.stored_names)
                return ProcessingResult(ProcessingOutcome.SKIPPED)
            if work.attachments:
                MediaAttachment.objects.bulk_update(
                    work.attachments, ["sniffed_content_type", "size_bytes", "file"], batch_size=20
                )
            EnrichmentItem.objects.bulk_create(
                [
                    EnrichmentItem(
                        user_id=user_id,
                        message_id=message.pk,
                        media=by_id.get(item.attachment_id) if item.attachment_id else None,
                        kind=item.kind,
                        value=item.value,
                        source=item.source,
                        metadata=item.metadata,
                        created_at=now,
                    )
                    for item in items
                ]
            )
    except (InboundMessage.DoesNotExist, IntegrityError):
        if InboundMessage.objects.filter(pk=message.pk).exists():
            raise
        _delete_stored(work.stored_names)
        logger.info("message %s was deleted while processing: nothing saved", message.pk)
        return ProcessingResult(ProcessingOutcome.MISSING)
    kind = _message_kind(work)
    metrics.PROCESSING_LATENCY.labels(kind).observe((now - message.received_at).total_seconds())
    metrics.PROCESSING_OUTCOMES.labels(kind, ProcessingOutcome.PROCESSED).inc()
    if items and settings.SMS_CONFIRMATION_ENABLED:
        _reply(message, _confirmation_text(items, content, work), purpose=OutboundPurpose.CONFIRMATION)
    if settings.SMS_DELETE_TWILIO_MEDIA:
        _delete_twilio_media(message, work.attachments)
    return ProcessingResult(ProcessingOutcome.PROCESSED, items=len(items))


def _confirmation_text(items: list[ExtractedItem], content: MessageContent, work: _Work) -> str:
    if content.transcripts:
        source = "voice note"
    elif "image" in work.kinds and len(work.attachments) == 1:
        source = "photo"
    else:
        source = "message"
    count = len(items)
    return str(settings.SMS_CONFIRMATION_TEXT).format(
        count=count, items="item" if count == 1 else "items", source=source
    )


def _fail_or_retry(work: _Work, *, code: str, is_transient: bool, is_last_attempt: bool) -> ProcessingResult:
    message = work.message
    metrics.PROCESSING_ERRORS.labels(code).inc()
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().filter(pk=message.pk).first()
        if locked is None:
            logger.info("message %s was deleted while processing", message.pk)
            return ProcessingResult(ProcessingOutcome.MISSING)
        if locked.status != MessageStatus.PROCESSING or locked.attempts != message.attempts:
            # Processed, or our lease was taken over by another run: that run decides.
            return ProcessingResult(ProcessingOutcome.SKIPPED)
        if is_transient and not is_last_attempt:
            backoff = settings.SMS_PROCESSING_RETRY_BACKOFF * (2 ** (locked.attempts - 1)) * random.uniform(0.8, 1.2)
            logger.warning(
                "message %s attempt %s failed (%s): retry in %.0f s", message.pk, locked.attempts, code, backoff
            )
            # Back into the outbox, held until due: the relay hands it to a worker again.
            locked.status = MessageStatus.RECEIVED
            locked.error_code = code
            locked.retry_at = timezone.now() + timedelta(seconds=backoff)
            locked.queued_at = None
            locked.lease_expires_at = None
            locked.save(update_fields=["status", "error_code", "retry_at", "queued_at", "lease_expires_at"])
            return ProcessingResult(ProcessingOutcome.RETRY, code)
        logger.warning("message %s failed (%s) after %s attempt(s)", message.pk, code, locked.attempts)
        _mark_failed(locked, code)
    metrics.PROCESSING_OUTCOMES.labels(_message_kind(work), ProcessingOutcome.FAILED).inc()
    if settings.SMS_FAILURE_REPLIES_ENABLED:
        kind = REPLY_KINDS.get(code, "temporary")
        text = settings.SMS_FAILURE_REPLIES.get(kind)
        if text:
            _reply(message, text, purpose=OutboundPurpose.FAILURE)
    return ProcessingResult(ProcessingOutcome.FAILED, code)


def _mark_failed(message: InboundMessage, code: str) -> None:
    message.status = MessageStatus.FAILED
    message.error_code = code
    message.processed_at = timezone.now()
    message.lease_expires_at = None
    message.save(update_fields=["status", "error_code", "processed_at", "lease_expires_at"])


def _reply(message: InboundMessage, text: str, *, purpose: str) -> None:
    try:
        sms_reply_send(to=message.from_number, body=text, purpose=purpose, user_id=message.user_id)
    except TwilioError:
        # The items are saved; a lost confirmation is not worth reprocessing the message.
        logger.warning("reply to %s for message %s not sent", mask_phone(message.from_number), message.pk)


def _delete_twilio_media(message: InboundMessage, attachments: list[MediaAttachment]) -> None:
    client = get_twilio_client()
    for attachment in attachments:
        media_sid = urlsplit(attachment.url).path.rstrip("/").rsplit("/", 1)[-1]
        if not media_sid.startswith("ME"):
            continue
        try:
            client.delete_media(message_sid=message.message_sid, media_sid=media_sid)
        except TwilioError:
            logger.warning("could not delete Twilio media %s of message %s", media_sid, message.pk)
