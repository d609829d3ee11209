"""Processing: media download, Speech-to-Text, extraction (offline and Gemini), replies."""

from __future__ import annotations

from smsgateway.settings.env import env_bool, env_float, env_int, env_list, env_str

# =============================================================================
# Speech-to-Text
# =============================================================================
SPEECH_API_ENDPOINT = env_str("SPEECH_API_ENDPOINT")
SPEECH_LANGUAGE_CODE = env_str("SPEECH_LANGUAGE_CODE", "en-US")
# Bounded client pool; every recognize call has an explicit timeout and retry policy.
SPEECH_POOL_SIZE = env_int("SPEECH_POOL_SIZE", 4)
SPEECH_POOL_TIMEOUT = env_float("SPEECH_POOL_TIMEOUT", 10.0)
SPEECH_TIMEOUT = env_float("SPEECH_TIMEOUT", 30.0)
SPEECH_RETRY_DEADLINE = env_float("SPEECH_RETRY_DEADLINE", 60.0)
# Synchronous recognition takes at most ~1 minute of audio; longer notes are split.
SPEECH_MAX_CHUNK_SECONDS = env_float("SPEECH_MAX_CHUNK_SECONDS", 55.0)

# =============================================================================
# Gemini extraction tier (sms/extraction/gemini.py, sms/clients/gemini.py)
# =============================================================================
# Set the key to extract with Gemini (SMS_EXTRACTOR_CLASS then defaults to the Gemini tier).
GEMINI_API_KEY = env_str("GEMINI_API_KEY")
GEMINI_MODEL = env_str("GEMINI_MODEL", "gemini-2.5-flash")
# Empty: Google's endpoint; an http://127.0.0.1:PORT URL points the SDK at a local fake or proxy.
GEMINI_BASE_URL = env_str("GEMINI_BASE_URL")
# Per call; the SDK never retries by itself: 429, 5xx and timeouts go back to the pipeline's backoff.
GEMINI_TIMEOUT_SECONDS = env_float("GEMINI_TIMEOUT_SECONDS", 30.0)
# Image and video bytes sent inline in one request; attachments past it are not sent.
GEMINI_MAX_INLINE_BYTES = env_int("GEMINI_MAX_INLINE_BYTES", 5 * 1024 * 1024)
# Output includes thinking tokens on 2.5 models: room for both (only what is used is billed).
GEMINI_MAX_OUTPUT_TOKENS = env_int("GEMINI_MAX_OUTPUT_TOKENS", 8192)
# Thinking tokens per call: -1 leaves it to the model (dynamic), 0 turns thinking off (2.5 Flash).
GEMINI_THINKING_BUDGET = env_int("GEMINI_THINKING_BUDGET", -1)
# US dollars per million tokens, for the estimated cost on the performance page (gemini-2.5-flash
# list prices; thinking tokens are billed as output).
GEMINI_PRICE_INPUT_PER_MILLION_TOKENS = env_float("GEMINI_PRICE_INPUT_PER_MILLION_TOKENS", 0.30)
GEMINI_PRICE_OUTPUT_PER_MILLION_TOKENS = env_float("GEMINI_PRICE_OUTPUT_PER_MILLION_TOKENS", 2.50)

# =============================================================================
# Processing pipeline (sms/processing/pipeline.py, sms/clients/media.py, speech.py)
# =============================================================================
# Media download: connect/read timeouts per request, an overall deadline per message, and the
# delays before re-asking for media that Twilio answers 404 right after delivery.
SMS_MEDIA_CONNECT_TIMEOUT = env_float("SMS_MEDIA_CONNECT_TIMEOUT", 3.05)
SMS_MEDIA_READ_TIMEOUT = env_float("SMS_MEDIA_READ_TIMEOUT", 10.0)
SMS_MEDIA_DEADLINE = env_float("SMS_MEDIA_DEADLINE", 60.0)
SMS_MEDIA_NOT_FOUND_RETRY_DELAYS = [float(x) for x in env_list("SMS_MEDIA_NOT_FOUND_RETRY_DELAYS", ["1", "3"])]
SMS_MEDIA_POOL_SIZE = env_int("SMS_MEDIA_POOL_SIZE", 10)
# Downloads land here (system temp dir when empty) and are removed in every outcome.
SMS_MEDIA_TEMP_DIR = env_str("SMS_MEDIA_TEMP_DIR")
# Stored images/videos and stale temp files older than this are removed by the hourly clean-up
# (media_cleanup_task under Celery beat; manage.py cleanup_media by hand).
SMS_MEDIA_RETENTION_DAYS = env_int("SMS_MEDIA_RETENTION_DAYS", 30)
SMS_MEDIA_TEMP_MAX_AGE_SECONDS = env_int("SMS_MEDIA_TEMP_MAX_AGE_SECONDS", 3600)
# Delete the media from Twilio's storage once a message is processed.
SMS_DELETE_TWILIO_MEDIA = env_bool("SMS_DELETE_TWILIO_MEDIA", True)
# Retries of transient failures: up to this many, after BACKOFF * 2**n seconds (+ jitter).
SMS_PROCESSING_MAX_RETRIES = env_int("SMS_PROCESSING_MAX_RETRIES", 3)
# A claim is a lease of this many seconds, renewed while the worker lives; the relay's sweep
# hands out again a message whose lease ran out (a dead worker): within lease + sweep seconds.
SMS_PROCESSING_LEASE_SECONDS = env_int("SMS_PROCESSING_LEASE_SECONDS", 60)
SMS_PROCESSING_RETRY_BACKOFF = env_float("SMS_PROCESSING_RETRY_BACKOFF", 10.0)
# Empty: the Gemini tier when GEMINI_API_KEY is set, else the offline tier.
SMS_EXTRACTOR_CLASS = env_str("SMS_EXTRACTOR_CLASS") or (
    "sms.extraction.gemini.GeminiExtractor" if GEMINI_API_KEY else "sms.extraction.DefaultExtractor"
)
# Business cards in images are read by this Tesseract binary ("" turns OCR off), killed after
# this many seconds (it runs on the worker).
SMS_TESSERACT_CMD = env_str("SMS_TESSERACT_CMD", "tesseract")
SMS_OCR_TIMEOUT_SECONDS = env_float("SMS_OCR_TIMEOUT_SECONDS", 10.0)
# Replies: the confirmation can be turned off; {count}, {items} and {source} are filled in.
SMS_CONFIRMATION_ENABLED = env_bool("SMS_CONFIRMATION_ENABLED", True)
# An empty value (as in .env.example) means the default wording.
SMS_CONFIRMATION_TEXT = (
    env_str("SMS_CONFIRMATION_TEXT") or "Saved {count} {items} from your {source} — review them in the app"
)
SMS_FAILURE_REPLIES_ENABLED = env_bool("SMS_FAILURE_REPLIES_ENABLED", True)
# Voice notes longer than this are refused before transcoding (declared or decoded length).
SMS_AUDIO_MAX_SECONDS = env_int("SMS_AUDIO_MAX_SECONDS", 300)
# Items stored per message, and contacts read per vCard file (the rest are dropped, logged).
SMS_MAX_ITEMS_PER_MESSAGE = env_int("SMS_MAX_ITEMS_PER_MESSAGE", 50)
SMS_MAX_CONTACTS_PER_VCARD = env_int("SMS_MAX_CONTACTS_PER_VCARD", 20)
# Speech seconds one user may use per UTC day (0: unlimited); over it a voice note fails.
SMS_SPEECH_SECONDS_PER_USER_PER_DAY = env_int("SMS_SPEECH_SECONDS_PER_USER_PER_DAY", 3600)
# Failure replies by kind; override in a settings module to reword them.
SMS_FAILURE_REPLIES = {
    "too_large": "Sorry, that message was too large to save (the limit is 5 MB). Try a shorter recording or fewer photos.",
    "unsupported": "Sorry, we can't read that kind of attachment. Try a photo, a voice note or a contact card.",
    "could_not_transcribe": "Sorry, we couldn't make out that voice note. Try recording it again somewhere quieter.",
    "audio_too_long": "That voice note is too long for us. Please send a shorter one.",
    "speech_budget": "You've sent a lot of voice notes today, so this one wasn't transcribed. Try again tomorrow.",
    "temporary": "Sorry, we had a temporary problem saving that message. Please send it again in a few minutes.",
}
