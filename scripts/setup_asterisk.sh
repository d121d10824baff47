#!/usr/bin/env bash
# Build the Debian root with Asterisk that robot/devtools/asterisk/runtime.py runs in a chroot.
#
# Debian 12 has no asterisk package; sid has Asterisk 22 with app_audiosocket. We
# debootstrap a minimal sid tree holding just asterisk and its dependencies (~45 s).
#
# Idempotent: does nothing if the root exists and `chroot ROOT /usr/sbin/asterisk -V`
# works. Otherwise builds into ROOT.tmp and renames it into place, so an interrupted build
# never leaves a half-made root behind. Needs root.
#
#   scripts/setup_asterisk.sh            # build if missing or broken
#   scripts/setup_asterisk.sh --force    # rebuild even if it works
#
# Environment: DOZVON_ASTERISK_ROOT (default /var/cache/dozvon/asterisk-root),
# DOZVON_DEBIAN_MIRROR (default http://deb.debian.org/debian), DOZVON_DEBIAN_SUITE (sid).
set -euo pipefail

ROOT="${DOZVON_ASTERISK_ROOT:-/var/cache/dozvon/asterisk-root}"
MIRROR="${DOZVON_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${DOZVON_DEBIAN_SUITE:-sid}"
TMP="${ROOT}.tmp"
FORCE=0

log() { echo "setup_asterisk: $*" >&2; }
die() { log "error: $*"; exit 1; }

for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) die "unknown argument: $arg" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot need it)"

works() {
    [ -x "$1/usr/sbin/asterisk" ] && chroot "$1" /usr/sbin/asterisk -V >/dev/null 2>&1
}

# Unmount everything below a directory, deepest first (debootstrap mounts proc and sys
# inside the target while it configures packages; an interrupted run leaves them).
unmount_below() {
    local dir mounts
    dir="$(realpath -m "$1")"
    mounts="$(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts \
        | sort -r)"
    for m in $mounts; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}

has_mounts_below() {
    local dir
    dir="$(realpath -m "$1")"
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' \
        /proc/mounts
}

mkdir -p "$(dirname "$ROOT")"
# One build at a time; a second caller waits and then finds the root ready.
exec 9>"${ROOT}.lock"
flock 9

if [ "$FORCE" -eq 0 ] && works "$ROOT"; then
    log "$ROOT is ready: $(chroot "$ROOT" /usr/sbin/asterisk -V)"
    exit 0
fi
if [ -e "$ROOT" ] && has_mounts_below "$ROOT"; then
    die "$ROOT is in use (something is mounted inside it); stop its Asterisk first"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi

cleanup_tmp() {
    if [ -e "$TMP" ]; then
        unmount_below "$TMP"
        rm -rf --one-file-system "$TMP"
    fi
}
cleanup_tmp
trap cleanup_tmp EXIT

log "building $ROOT from $SUITE at $MIRROR"
started=$(date +%s)
debootstrap --variant=minbase --include=asterisk "$SUITE" "$TMP" "$MIRROR" >&2
unmount_below "$TMP"
# The .deb files are only needed during the build.
rm -rf "$TMP"/var/cache/apt/archives/*.deb "$TMP"/var/lib/apt/lists/*
works "$TMP" || die "the new root has no working asterisk"

if [ -e "$ROOT" ]; then
    old="${ROOT}.old.$$"
    mv "$ROOT" "$old"
    mv "$TMP" "$ROOT"
    rm -rf --one-file-system "$old"
else
    mv "$TMP" "$ROOT"
fi
trap - EXIT
log "$ROOT ready in $(( $(date +%s) - started )) s: $(chroot "$ROOT" /usr/sbin/asterisk -V)"
