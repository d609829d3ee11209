# syntax=docker/dockerfile:1
# Multi-stage: build wheels with compilers, run on a slim image as a non-root user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=smsgateway.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app . .
# collectstatic with the production storage; it connects to nothing, so placeholders do.
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@127.0.0.1/build REDIS_URL=redis://127.0.0.1:6379/0 \
    TWILIO_ACCOUNT_SID=ACbuild TWILIO_AUTH_TOKEN=build-only METRICS_BEARER_TOKEN=build-only \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R app:app /app/var /app/staticfiles
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/api/sms/performance/health/', timeout=4)" || exit 1
# One image, every process of the stack (the Procfile names them): the default command is the web
# server; run the others from the same image with
#   python manage.py sms_relay | celery -A smsgateway worker -Q sms -P threads -c 16 | celery -A smsgateway beat
CMD ["gunicorn", "-c", "gunicorn.conf.py", "smsgateway.wsgi:application"]
