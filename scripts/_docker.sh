# Sourced by scripts/smoke-image.sh: a private Docker engine and the Debian base image, both
# cached outside the checkout so that repeated runs reuse them.
#
#   docker_install     docker.io, debootstrap (and curl) from Debian's packages, when missing
#   docker_engine_up   dockerd (vfs storage, no iptables, no bridge) on its own socket and data
#                      root, started only when it does not answer; sets DOCKER_HOST
#   docker_base_image  smsgateway-base:bookworm, made with debootstrap once (no image registry
#                      is reachable here) and reused while it exists
#
# Everything is overridable: SMSGW_DOCKER_ROOT (data root), SMSGW_DOCKER_SOCK, SMSGW_BASE_IMAGE,
# SMSGW_DEBIAN_MIRROR.
SMSGW_DOCKER_ROOT="${SMSGW_DOCKER_ROOT:-/var/lib/smsgw-docker}"
SMSGW_DOCKER_SOCK="${SMSGW_DOCKER_SOCK:-/run/smsgw-docker.sock}"
SMSGW_DOCKER_PIDFILE="${SMSGW_DOCKER_PIDFILE:-/run/smsgw-docker.pid}"
SMSGW_DOCKER_LOG="${SMSGW_DOCKER_LOG:-/var/log/smsgw-dockerd.log}"
SMSGW_BASE_IMAGE="${SMSGW_BASE_IMAGE:-smsgateway-base:bookworm}"
# The base image's packages; the app's own (tesseract) are installed by the Dockerfile.
SMSGW_BASE_PACKAGES="python3,python3-venv,ca-certificates"
SMSGW_DOCKER_STARTED=""

_docker_mirror() {
  # The mirror this machine's apt uses (deb822 or one-line sources), else Debian's CDN.
  if [ -n "${SMSGW_DEBIAN_MIRROR:-}" ]; then
    echo "$SMSGW_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri="$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | head -n1 | awk '{print $2}')"
  [ -n "$uri" ] || uri="$(grep -hsE '^deb .*/debian/? bookworm' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | head -n1 | awk '{print $2}')"
  echo "${uri:-http://deb.debian.org/debian}"
}

docker_install() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "docker: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

docker_engine_up() {
  export DOCKER_HOST="unix://$SMSGW_DOCKER_SOCK"
  if docker version >/dev/null 2>&1; then
    return 0
  fi
  echo "docker: starting dockerd (data root $SMSGW_DOCKER_ROOT, socket $SMSGW_DOCKER_SOCK)"
  mkdir -p "$SMSGW_DOCKER_ROOT" "$(dirname "$SMSGW_DOCKER_LOG")"
  # A pidfile left by a killed engine would stop the new one from starting.
  if [ -f "$SMSGW_DOCKER_PIDFILE" ] && ! kill -0 "$(cat "$SMSGW_DOCKER_PIDFILE")" 2>/dev/null; then
    rm -f "$SMSGW_DOCKER_PIDFILE"
  fi
  # Its own containerd socket and exec root too, so another engine on the machine is not touched.
  setsid dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    --data-root "$SMSGW_DOCKER_ROOT" --exec-root "${SMSGW_DOCKER_SOCK%.sock}" \
    -H "$DOCKER_HOST" --pidfile "$SMSGW_DOCKER_PIDFILE" >>"$SMSGW_DOCKER_LOG" 2>&1 </dev/null &
  SMSGW_DOCKER_STARTED=$!
  for _ in $(seq 1 120); do
    if docker version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  echo "docker: dockerd did not answer in 60 s; its log ($SMSGW_DOCKER_LOG):" >&2
  tail -n 30 "$SMSGW_DOCKER_LOG" >&2
  return 1
}

docker_base_image() {
  if docker image inspect "$SMSGW_BASE_IMAGE" >/dev/null 2>&1; then
    return 0
  fi
  local mirror tarball rootfs
  mirror="$(_docker_mirror)"
  tarball="$SMSGW_DOCKER_ROOT-base/bookworm.tar"
  if [ ! -s "$tarball" ]; then
    rootfs="$SMSGW_DOCKER_ROOT-base/rootfs"
    echo "docker: debootstrap bookworm from $mirror into $rootfs"
    rm -rf "$rootfs"
    mkdir -p "$rootfs"
    debootstrap --variant=minbase --include="$SMSGW_BASE_PACKAGES" bookworm "$rootfs" "$mirror" \
      >"$SMSGW_DOCKER_ROOT-base/debootstrap.log" 2>&1 \
      || { tail -n 30 "$SMSGW_DOCKER_ROOT-base/debootstrap.log" >&2; return 1; }
    # The image's apt sees the same mirror, with the point-release and security updates.
    local security="${mirror%/debian}/debian-security"
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  echo "docker: importing $tarball as $SMSGW_BASE_IMAGE"
  docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$tarball" "$SMSGW_BASE_IMAGE" >/dev/null
}
