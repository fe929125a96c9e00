#!/usr/bin/env bash
# A Docker engine of our own for docker-test, started and stopped by pid.
#
#   docker/engine.sh probe          exit 0 if an engine can be had here, else print why (one line) and exit 1
#   docker/engine.sh start RUN_DIR  print the DOCKER_HOST to use (a running system engine, else one we start)
#   docker/engine.sh stop RUN_DIR   stop the engine `start` started from RUN_DIR (by its pid), if any
#
# Our engine runs as root with --bridge=none --iptables=false: containers get host networking
# only, so no traffic goes to private-range addresses. Its exec root, pid file and socket live
# in RUN_DIR (unique per run); its data root is kept between runs (SPARK_SCHED_DOCKER_DATA,
# default /var/lib/spark-sched-docker) so the base image and build cache survive. The caller
# holds "$DATA_ROOT.lock" so two runs never share a data root.
set -euo pipefail

DATA_ROOT=${SPARK_SCHED_DOCKER_DATA:-/var/lib/spark-sched-docker}
START_TIMEOUT_S=90

say() { echo "docker-test: $*" >&2; }

system_engine() {
  # A system engine the user already runs: DOCKER_HOST, or the default socket, answering.
  if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then echo "$DOCKER_HOST"; return 0; fi
  if [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1; then
    echo "unix:///var/run/docker.sock"; return 0
  fi
  return 1
}

install_missing() {
  # Debian's engine, compose v1 and debootstrap, from this machine's own apt sources.
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

start() {
  local run_dir=$1 host
  if host=$(system_engine); then echo "$host"; return 0; fi
  [ "$(id -u)" -eq 0 ] || { say "starting an engine needs root"; return 1; }
  install_missing
  mkdir -p "$run_dir" "$DATA_ROOT"
  local sock="$run_dir/docker.sock"
  dockerd --bridge=none --iptables=false --ip-masq=false --userland-proxy=false \
    --data-root "$DATA_ROOT" --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
    -H "unix://$sock" --log-level warn >"$run_dir/dockerd.log" 2>&1 &
  echo $! >"$run_dir/engine.pid"
  local deadline=$((SECONDS + START_TIMEOUT_S)) pid
  pid=$(cat "$run_dir/engine.pid")
  until DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "dockerd exited during start-up: $(tail -n 3 "$run_dir/dockerd.log" | tr '\n' ' ')"; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then say "dockerd did not answer within ${START_TIMEOUT_S}s"; stop "$run_dir"; return 1; fi
    sleep 0.5
  done
  echo "unix://$sock"
}

ours() {
  # Live pids whose command line names our unique exec root (dockerd and the containerd it manages).
  local run_dir=$1 p
  for p in /proc/[0-9]*; do
    tr "\\0" " " 2>/dev/null <"$p/cmdline" | grep -qF -- "$run_dir/exec" && echo "${p#/proc/}"
  done
  return 0
}

stop() {
  local run_dir=$1 pid="" deadline
  [ -f "$run_dir/engine.pid" ] && pid=$(cat "$run_dir/engine.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  # dockerd stops the containerd it manages; anything of ours still alive is stopped by its own pid.
  for p in $(ours "$run_dir"); do kill -KILL "$p" 2>/dev/null || true; done
  # dockerd can leave its default network namespace mounted under the exec root: unmount what is
  # ours (deepest first) so the run directory can be deleted.
  local m
  for m in $(awk -v r="$run_dir/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  rm -f "$run_dir/engine.pid"
}

probe() {
  if system_engine >/dev/null; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then echo "not root, and no Docker engine is running"; return 1; fi
  if ! command -v dockerd >/dev/null 2>&1 && ! command -v apt-get >/dev/null 2>&1; then
    echo "no dockerd and no apt-get to install Debian's docker.io"; return 1
  fi
  if ! install_missing 2>/dev/null; then echo "could not install docker.io/docker-compose/debootstrap with apt-get"; return 1; fi
  local run_dir out
  run_dir=$(mktemp -d /tmp/spark-sched-dprobe.XXXXXX)
  # A throw-away data root: the probe never touches the cached one a real run may hold.
  if out=$(DATA_ROOT="$run_dir/data" start "$run_dir" 2>&1); then
    stop "$run_dir"; rm -rf --one-file-system "$run_dir"; return 0
  fi
  stop "$run_dir"; rm -rf --one-file-system "$run_dir"
  echo "a Docker engine could not be started here: ${out##*docker-test: }"
  return 1
}

case "${1:-}" in
  probe) probe ;;
  start) start "${2:?run dir}" ;;
  stop) stop "${2:?run dir}" ;;
  *) echo "usage: $0 probe | start RUN_DIR | stop RUN_DIR" >&2; exit 2 ;;
esac
