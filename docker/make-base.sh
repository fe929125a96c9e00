#!/usr/bin/env bash
# Make a Debian bookworm base image from Debian's packages, for machines that cannot pull one.
#
#   docker/make-base.sh [TAG]     (default spark-sched-base:bookworm; needs root and a Docker engine)
#
# debootstrap builds a minimal root file system (Python 3.11 with venv, CA certificates) from the
# mirror this machine's own apt sources name, `docker import` turns it into an image. Cached: when
# TAG exists nothing is done. The image's apt sources are the machine's Debian entries, so the
# Dockerfile's `apt-get install` later uses the same mirror.
set -euo pipefail

TAG=${1:-spark-sched-base:bookworm}
SUITE=bookworm
HERE=$(cd "$(dirname "$0")" && pwd)

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "docker-test: base $TAG cached"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "docker-test: making the base needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "docker-test: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }

MIRROR=$(python3 "$HERE/apt_sources.py" mirror "$SUITE")
WORK=$(mktemp -d /tmp/spark-sched-base.XXXXXX)
ROOTFS="$WORK/rootfs"

cleanup() {
  # debootstrap mounts proc/sys (and may bind /dev) inside the root fs: unmount all of it,
  # deepest first, before deleting, and never cross into another file system.
  local m
  for m in $(awk -v r="$ROOTFS" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  if awk -v r="$ROOTFS" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/mounts; then
    echo "docker-test: mounts left under $ROOTFS; not deleting it" >&2
    return
  fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

echo "docker-test: debootstrap $SUITE from this machine's mirror ($MIRROR)"
start=$SECONDS
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -n 20 "$WORK/debootstrap.log" >&2
  exit 1
}

python3 "$HERE/apt_sources.py" list "$SUITE" >"$ROOTFS/etc/apt/sources.list"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb
# debootstrap copies the host's resolv.conf and hostname; the image must not carry them.
: >"$ROOTFS/etc/resolv.conf"
rm -f "$ROOTFS/etc/hostname"

tar --numeric-owner -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase $SUITE" - "$TAG" >/dev/null
echo "docker-test: base $TAG made in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
