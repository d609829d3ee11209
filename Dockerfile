# One image for every process of the stack (the Procfile names them). Two stages: the virtualenv
# is made from binary wheels (no compilers needed), then copied onto the runtime stage, which adds
# Tesseract and runs as the non-root user app.
#
# BASE_IMAGE is any Debian bookworm with Python 3.11 and the venv module: python:3.11-slim-bookworm
# (python at /usr/local/bin) or Debian's own python3 (/usr/bin), e.g. the image that
# scripts/smoke-image.sh makes with debootstrap where no image registry is reachable. Both stages
# must use the same base: the virtualenv links to its interpreter.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# The package index pip uses, and PEM certificates to trust besides Debian's for reaching it
# (behind a TLS-inspecting proxy); pass what your machines' pip uses. Only this stage sees them.
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_EXTRA_CA=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=120
WORKDIR /build
COPY requirements.txt .
RUN python3 -m venv /opt/venv \
    && if [ -n "$PIP_EXTRA_CA" ]; then \
         cat /etc/ssl/certs/ca-certificates.crt > /build/ca.pem \
         && printf '%s\n' "$PIP_EXTRA_CA" >> /build/ca.pem \
         && export PIP_CERT=/build/ca.pem; \
       fi \
    && /opt/venv/bin/pip install --quiet --index-url "$PIP_INDEX_URL" --prefer-binary -r requirements.txt

FROM ${BASE_IMAGE} AS runtime
# Metadata first, while the image is small: with the vfs storage driver (what the smoke script
# runs) every instruction copies the whole file system.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=smsgateway.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    GUNICORN_BIND=0.0.0.0:8000 \
    SMS_RELAY_HEARTBEAT_FILE=/tmp/smsgw-relay.heartbeat \
    BEAT_HEARTBEAT_FILE=/tmp/smsgw-beat.heartbeat
EXPOSE 8000
# Liveness of the web process (/healthz depends on nothing), asked with a Host header that
# DJANGO_ALLOWED_HOSTS allows (deploy/healthcheck.py). Compose and scripts/smoke-image.sh give the
# relay, worker and beat containers their own checks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py", "http", "/healthz"]
# The default command is the web server; run the others from the same image with
#   python manage.py sms_relay | celery -A smsgateway worker -l info -Q sms -P threads -c 16 | celery -A smsgateway beat -l info
CMD ["gunicorn", "-c", "gunicorn.conf.py", "smsgateway.wsgi:application"]
WORKDIR /app
# Tesseract (with its English data) for reading text in photos; audio decoding comes with av's
# wheel. The metrics directory exists for every process, one-off commands (migrate, shell) too.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && chown app:app /app "$PROMETHEUS_MULTIPROC_DIR"
# Before the big layers, for the same reason; COPY ignores it (the virtualenv stays root's, read-only).
USER app
COPY --from=build /opt/venv /opt/venv
COPY --chown=app:app . .
# collectstatic with the production storage writes the hashed files and their manifest
# (staticfiles.json), without which every admin page is a 500. It connects to nothing, so
# placeholders do; its metrics go nowhere (an empty PROMETHEUS_MULTIPROC_DIR).
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@127.0.0.1/build REDIS_URL=redis://127.0.0.1:6379/0 \
    TWILIO_ACCOUNT_SID=ACbuild TWILIO_AUTH_TOKEN=build-only METRICS_BEARER_TOKEN=build-only PROMETHEUS_MULTIPROC_DIR= \
    python manage.py collectstatic --noinput --verbosity 0 \
    && test -s /app/staticfiles/staticfiles.json \
    && mkdir -p /app/var
