#!/usr/bin/env bash
# Smoke test of the container image: build it, run web, relay, worker and beat from it on the host
# network against the local PostgreSQL and Redis, post a signed Twilio webhook and see the message
# processed, load the admin login page and its CSS, and see every container's health check pass.
#
# Needs root (apt, dockerd). Installs docker.io and debootstrap when missing, starts a private
# dockerd when none answers on its socket (and stops it again at the end), and makes the Debian
# base image once (scripts/_docker.sh); the engine's data root, the base image and the layer cache
# stay under /var/lib for the next run. Its containers are removed on exit, whatever happened.
#
# Uses the database smsgw_smoke (dropped and created) and Redis database 12 (flushed).
# Overridable: SMOKE_DB, SMOKE_REDIS_DB, SMOKE_PORT, SMOKE_IMAGE, BASE_IMAGE, PIP_INDEX_URL,
# SMOKE_KEEP_ENGINE=1 (leave a dockerd this script started running).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_docker.sh

SMOKE_DB="${SMOKE_DB:-smsgw_smoke}"
SMOKE_REDIS_DB="${SMOKE_REDIS_DB:-12}"
SMOKE_IMAGE="${SMOKE_IMAGE:-smsgateway:smoke}"
BASE_IMAGE="${BASE_IMAGE:-$SMSGW_BASE_IMAGE}"
PG="postgres://postgres@127.0.0.1:5432"
NAME="smsgw-smoke"
ROLES=(web relay worker beat)
START=$(date +%s.%N)
STEP_START=$START

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1f", b - a }'; }
step() {
  # Closes the previous step with its duration, opens the next.
  if [ -n "${STEP_NAME:-}" ]; then
    echo "smoke: [$(elapsed "$START") s] done: $STEP_NAME ($(elapsed "$STEP_START") s)"
  fi
  STEP_NAME="$1"
  STEP_START=$(date +%s.%N)
  echo "smoke: [$(elapsed "$START") s] $STEP_NAME"
}
fail() {
  echo "smoke: FAILED: $*" >&2
  exit 1
}

ENV_FILE="$(mktemp /tmp/smsgw-smoke-env.XXXXXX)"
cleanup() {
  local status=$?
  if [ $status -ne 0 ] && command -v docker >/dev/null 2>&1 && [ -n "${DOCKER_HOST:-}" ]; then
    for role in "${ROLES[@]}"; do
      if docker container inspect "$NAME-$role" >/dev/null 2>&1; then
        echo "--- $NAME-$role (last 40 lines)" >&2
        docker logs --tail 40 "$NAME-$role" >&2 2>&1 || true
      fi
    done
  fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    docker rm -f "${ROLES[@]/#/$NAME-}" >/dev/null 2>&1 || true
  fi
  rm -f "$ENV_FILE"
  if [ -n "$SMSGW_DOCKER_STARTED" ] && [ "${SMOKE_KEEP_ENGINE:-}" != 1 ]; then
    kill "$SMSGW_DOCKER_STARTED" 2>/dev/null || true
    wait "$SMSGW_DOCKER_STARTED" 2>/dev/null || true
  fi
  echo "smoke: [$(elapsed "$START") s] $([ $status -eq 0 ] && echo passed || echo "failed ($status)")"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${SMOKE_PORT:-}" ]; then
  for SMOKE_PORT in 8800 8801 8802 8803 8804 8805 8806 8807 8808 8809; do
    port_free "$SMOKE_PORT" && break
  done
fi
port_free "$SMOKE_PORT" || fail "port $SMOKE_PORT is in use"
WEB="http://127.0.0.1:$SMOKE_PORT"

# The index (and extra certificates) this machine's pip uses, so the build reaches the same one.
host_pip_index() {
  local index="${PIP_INDEX_URL:-}"
  [ -n "$index" ] || index="$(pip3 config get global.index-url 2>/dev/null || true)"
  echo "${index:-https://pypi.org/simple}"
}
host_extra_ca() {
  # Certificates added to this machine's trust store (update-ca-certificates), which pip trusts here.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cat /usr/local/share/ca-certificates/*.crt
  fi
}

step "docker engine"
docker_install
docker_engine_up
docker version --format 'smoke: engine {{.Server.Version}}, client {{.Client.Version}}'

step "base image $BASE_IMAGE"
if [ "$BASE_IMAGE" = "$SMSGW_BASE_IMAGE" ]; then
  docker_base_image
fi
docker image inspect "$BASE_IMAGE" >/dev/null || fail "base image $BASE_IMAGE is missing"

step "build $SMOKE_IMAGE"
# The classic builder: BuildKit would fetch its Dockerfile frontend from a registry.
BUILD_LOG="$(mktemp /tmp/smsgw-smoke-build.XXXXXX)"
DOCKER_BUILDKIT=0 docker build --force-rm --network host \
  --build-arg BASE_IMAGE="$BASE_IMAGE" \
  --build-arg PIP_INDEX_URL="$(host_pip_index)" \
  --build-arg PIP_EXTRA_CA="$(host_extra_ca)" \
  -t "$SMOKE_IMAGE" . >"$BUILD_LOG" 2>&1 || { tail -n 40 "$BUILD_LOG" >&2; fail "docker build"; }
echo "smoke:   $(grep -c '^Step ' "$BUILD_LOG") steps, $(grep -c 'Using cache' "$BUILD_LOG") from the cache"
rm -f "$BUILD_LOG"
# Earlier builds' images, no longer tagged, would fill the disk (vfs copies every layer).
docker image prune --force >/dev/null
[ "$(docker image inspect -f '{{.Config.User}}' "$SMOKE_IMAGE")" = app ] || fail "the image does not run as app"
step "database $SMOKE_DB and Redis db $SMOKE_REDIS_DB"
scripts/services.sh >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$PG/postgres" -c "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" -c "CREATE DATABASE $SMOKE_DB"
redis-cli -h 127.0.0.1 -p 6379 -n "$SMOKE_REDIS_DB" flushdb >/dev/null
AUTH_TOKEN="smoke-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ACCOUNT_SID="AC$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat >"$ENV_FILE" <<EOF
DJANGO_SETTINGS_MODULE=smsgateway.settings.production
DJANGO_SECRET_KEY=smoke-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
DJANGO_SSL_REDIRECT=false
DJANGO_SECURE_COOKIES=false
DATABASE_URL=$PG/$SMOKE_DB
REDIS_URL=redis://127.0.0.1:6379/$SMOKE_REDIS_DB
TWILIO_ACCOUNT_SID=$ACCOUNT_SID
TWILIO_AUTH_TOKEN=$AUTH_TOKEN
TWILIO_PHONE_NUMBER=+15005550006
METRICS_BEARER_TOKEN=smoke-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
SMS_BACKEND=console
GUNICORN_BIND=127.0.0.1:$SMOKE_PORT
GUNICORN_WORKERS=2
EOF

# One-off commands and the long-running containers: the same image, env and host network.
run_once() { docker run --rm --network host --env-file "$ENV_FILE" "$SMOKE_IMAGE" "$@"; }

SENDER="+14155550142"
step "one-off container: image contents, migrate, a user with a verified number"
# One container for all of it: with the vfs storage driver each new container copies the image.
run_once sh -ec '
  echo "smoke:   runs as $(id -un)"; test "$(id -un)" = app
  tesseract --list-langs 2>/dev/null | grep -qx eng; echo "smoke:   tesseract $(tesseract --version 2>&1 | head -n 1 | cut -d" " -f2) with eng"
  test -s staticfiles/staticfiles.json; echo "smoke:   static manifest staticfiles/staticfiles.json"
  python manage.py migrate --noinput >/dev/null; echo "smoke:   migrated"
  python manage.py shell -v 0 -c "$1"; echo "smoke:   user smoke, verified $2"
' sh "
from django.contrib.auth import get_user_model
from django.utils import timezone
from sms.models import PhoneNumber
user = get_user_model().objects.create_user(username='smoke', password='smoke-password-123')
PhoneNumber.objects.create(user=user, number='$SENDER', is_verified=True, verified_at=timezone.now())
" "$SENDER"

step "start web, relay, worker and beat"
# Each process its own container, its own metrics directory (the image's /tmp), and the health
# check compose gives it; checks run every 2 s here instead of every 30 s.
health=(--health-interval 2s --health-timeout 10s --health-retries 3 --health-start-period 60s)
start() {
  local role=$1
  shift
  docker run -d --name "$NAME-$role" --network host --env-file "$ENV_FILE" "${health[@]}" "$@" >/dev/null
}
# Created side by side: each creation copies the image (vfs).
pids=()
start web "$SMOKE_IMAGE" &
pids+=($!)
start relay --health-cmd "python /app/deploy/healthcheck.py heartbeat /tmp/smsgw-relay.heartbeat 30" \
  "$SMOKE_IMAGE" python manage.py sms_relay &
pids+=($!)
# On the host network every container shares the host's name: the worker gets its own node name.
start worker --health-cmd 'celery -A smsgateway inspect ping --timeout 5 -d smoke-worker@$HOSTNAME' \
  "$SMOKE_IMAGE" celery -A smsgateway worker -l info -Q sms -P threads -c 4 -n 'smoke-worker@%h' &
pids+=($!)
start beat --health-cmd "python /app/deploy/healthcheck.py heartbeat /tmp/smsgw-beat.heartbeat 120" \
  "$SMOKE_IMAGE" celery -A smsgateway beat -l info &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid" || fail "a container did not start"
done

step "web answers $WEB/admin/login/"
for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$WEB/admin/login/")" = 200 ] && break
  docker container inspect -f '{{.State.Running}}' "$NAME-web" | grep -q true || fail "the web container exited"
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$WEB/admin/login/")" = 200 ] || fail "no 200 from /admin/login/"

step "admin login page and its CSS"
page="$(curl -sf "$WEB/admin/login/")"
css_paths="$(grep -o 'href="/static/[^"]*\.css"' <<<"$page" | cut -d'"' -f2)"
[ -n "$css_paths" ] || fail "the login page links no CSS"
for css in $css_paths; do
  # The manifest storage names every file by its hash: base.<hash>.css.
  grep -qE '\.[0-9a-f]{12}\.css$' <<<"$css" || fail "$css is not a hashed (manifest) name"
  read -r code type < <(curl -s -o /dev/null -w '%{http_code} %{content_type}\n' "$WEB$css")
  [ "$code" = 200 ] && [[ "$type" == text/css* ]] || fail "$css answered $code $type"
  echo "smoke:   $css 200 $type"
done

step "signed webhook"
# Signed here, independently of the app: HMAC-SHA1 over the URL and the sorted parameters, the
# way Twilio signs (and devkit/payloads.py, with the SDK).
MESSAGE_SID="SM$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
outcome="$(python3 - "$WEB/api/sms/webhook" "$AUTH_TOKEN" "$ACCOUNT_SID" "$MESSAGE_SID" "$SENDER" <<'EOF'
import base64, hashlib, hmac, sys, urllib.parse, urllib.request
url, token, account, sid, sender = sys.argv[1:]
params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": account, "From": sender,
          "To": "+15005550006", "Body": "Call Ada Lovelace tomorrow at 10am, ada@example.com",
          "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
signed = url + "".join(k + params[k] for k in sorted(params))
signature = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), method="POST",
                                 headers={"X-Twilio-Signature": signature})
with urllib.request.urlopen(request, timeout=10) as response:
    print(response.status, response.headers.get("X-SMS-Outcome"))
EOF
)"
echo "smoke:   $MESSAGE_SID: HTTP $outcome"
[ "$outcome" = "200 accepted" ] || fail "the webhook answered $outcome, not 200 accepted"

step "message processed (relay -> worker)"
status=""
for _ in $(seq 1 120); do
  status="$(psql -qtA "$PG/$SMOKE_DB" -c "SELECT status FROM sms_inboundmessage WHERE message_sid = '$MESSAGE_SID'")"
  [ "$status" = processed ] && break
  sleep 0.5
done
[ "$status" = processed ] || fail "message is '$status' after 60 s, not processed"
items="$(psql -qtA "$PG/$SMOKE_DB" -c "SELECT count(*) FROM sms_enrichmentitem i JOIN sms_inboundmessage m ON m.id = i.message_id WHERE m.message_sid = '$MESSAGE_SID'")"
echo "smoke:   processed, $items items"

step "health checks"
# The image's own check asks /healthz: until the app serves it (a 404 here), the web
# container's health is reported, not required.
healthz="$(curl -s -o /dev/null -w '%{http_code}' "$WEB/healthz")"
for role in "${ROLES[@]}"; do
  state=""
  for _ in $(seq 1 60); do
    state="$(docker container inspect -f '{{.State.Health.Status}}' "$NAME-$role")"
    [ "$state" = healthy ] && break
    [ "$role" = web ] && [ "$healthz" = 404 ] && break
    sleep 1
  done
  if [ "$state" = healthy ]; then
    echo "smoke:   $role healthy"
  elif [ "$role" = web ] && [ "$healthz" = 404 ]; then
    echo "smoke:   web $state: this build has no /healthz yet (404), its check cannot pass"
  else
    docker container inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$NAME-$role" | tail -n 5 >&2
    fail "$role is $state, not healthy"
  fi
done
step "tear down"
