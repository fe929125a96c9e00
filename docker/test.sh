#!/usr/bin/env bash
# `make docker-test`: build the image and prove it, for real, on this machine.
#
#   1. a Docker engine: the system's if one answers, else our own (docker/engine.sh), stopped at the end
#   2. the base: SPARK_SCHED_BASE if set, else a debootstrap bookworm base (docker/make-base.sh, cached)
#   3. build `spark-sched:test` and `spark-sched:latest` (docker/Dockerfile) with this machine's pip
#      settings as build args and its CA bundle ($SSL_CERT_FILE) handed only to the builder stages
#   4. the `tests` service: the suite in local mode (SPARK_SCHED_DOCKER_PYTEST overrides its arguments)
#   5. the compose cluster (master + 3 workers) and docker/cluster_check.py against it
#   6. tear everything down; print image size and timings
#
# Secrets (the cluster's authentication secret) are made per run under a private run directory
# and deleted with it. Nothing is pulled from a registry unless SPARK_SCHED_BASE names an image
# that is not present (then the engine fetches it, as `docker build` would).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DATA_ROOT=${SPARK_SCHED_DOCKER_DATA:-/var/lib/spark-sched-docker}
BASE_TAG=spark-sched-base:bookworm
IMAGE=spark-sched:latest
TEST_IMAGE=spark-sched:test
IMAGE_UID=10001
RUN_DIR=$(mktemp -d /tmp/spark-sched-docker.XXXXXX)
PROJECT=$(basename "$RUN_DIR" | tr -cd 'a-z0-9' | tr 'A-Z' 'a-z')
export SPARK_SCHED_DOCKER_DATA=$DATA_ROOT
T0=$SECONDS
declare -A TIMES=()

say() { echo "docker-test: $*"; }

compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose --env-file "$RUN_DIR/compose.env" -p "$PROJECT" -f "$HERE/compose.yaml" "$@"
  else
    docker-compose --env-file "$RUN_DIR/compose.env" -p "$PROJECT" -f "$HERE/compose.yaml" "$@"
  fi
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "${DOCKER_HOST:-}" ] && [ -f "$RUN_DIR/compose.env" ]; then
    [ $rc -ne 0 ] && compose logs --no-color --tail 30 >&2 2>/dev/null
    compose --profile tests down --remove-orphans -t 20 >/dev/null 2>&1 || compose down --remove-orphans -t 20 >/dev/null 2>&1
    local left
    left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    if [ -n "$left" ]; then docker rm -f $left >/dev/null; fi
  fi
  "$HERE/engine.sh" stop "$RUN_DIR"
  rm -rf --one-file-system "$RUN_DIR"
  [ $rc -eq 0 ] || say "FAILED (exit $rc) after $((SECONDS - T0))s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # a stopped run still tears down (the EXIT trap runs)

timed() {  # timed NAME CMD...: run CMD, remember its wall time under NAME
  local name=$1 start=$SECONDS
  shift
  "$@"
  TIMES[$name]=$((SECONDS - start))
}

pip_build_args() {
  # This machine's pip settings (environment first, then pip's config files), passed to the build
  # as build args. Local paths and file:// indexes cannot be reached from a build and are left out.
  local key var value word kept
  for key in index-url extra-index-url trusted-host default-timeout; do
    var=PIP_$(echo "$key" | tr 'a-z-' 'A-Z_')
    value=${!var:-}
    if [ -z "$value" ]; then
      value=$(python3 -m pip config list 2>/dev/null | sed -n "s/^\(global\|install\)\.$key='\(.*\)'$/\2/p" | head -n 1)
    fi
    kept=""
    for word in $value; do
      case $word in file:* | /*) ;; *) kept="${kept:+$kept }$word" ;; esac
    done
    [ -n "$kept" ] && echo "--build-arg=$var=$kept"
  done
  return 0
}

build_context() {
  # A copy of the files the Dockerfile copies, plus the CA bundle as docker/build-ca/ca.crt when
  # this machine names one (build_ca); only the builder stages read it, and nothing is written
  # into the tree. Prints the context directory.
  local ctx="$RUN_DIR/context"
  mkdir -p "$ctx"
  tar -c --exclude='__pycache__' --exclude='*.pyc' --exclude='docker/secrets' --exclude='docker/build-ca/*.crt' \
    -C "$ROOT" pyproject.toml README.md mkdocs.yml spark_sched conf jobs tests docs docker | tar -x -C "$ctx"
  local sm_source=${SPARK_SCHED_SPARKMEASURE_SOURCE:-$(dirname "$ROOT")/shared/vendor/sparkmeasure-0.28}
  if [ -d "$sm_source/src" ]; then  # sparkMeasure's sources: the image compiles its jar (docker/sparkmeasure/)
    mkdir -p "$ctx/docker/sparkmeasure/src" && cp "$sm_source"/src/*.scala "$ctx/docker/sparkmeasure/src/"
  fi
  local ca
  ca=$(build_ca)
  if [ -n "$ca" ]; then install -m 0600 "$ca" "$ctx/docker/build-ca/ca.crt"; fi
  echo "$ctx"
}

build_ca() {
  # The CA bundle this machine's TLS clients trust: $SSL_CERT_FILE, else pip's own (PIP_CERT or
  # `cert` in pip's config), else $REQUESTS_CA_BUNDLE; nothing when none is set.
  local ca
  for ca in "${SSL_CERT_FILE:-}" "${PIP_CERT:-}" \
      "$(python3 -m pip config list 2>/dev/null | sed -n "s/^global\.cert='\(.*\)'$/\1/p" | head -n 1)" \
      "${REQUESTS_CA_BUNDLE:-}"; do
    if [ -n "$ca" ] && [ -s "$ca" ]; then echo "$ca"; return 0; fi
  done
}

build() {  # build TARGET TAG
  local log="$RUN_DIR/build-$1.log"
  local pip_args
  mapfile -t pip_args < <(pip_build_args)
  if ! docker build --force-rm --network host --build-arg "BASE=$BASE" "${pip_args[@]}" \
      -f "$CONTEXT/docker/Dockerfile" --target "$1" -t "$2" "$CONTEXT" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    return 1
  fi
}

build_all() {
  # The builder stages are tagged too (spark-sched-cache:*), so pruning old untagged images keeps
  # the dependency layers cached for the next run; they stay in this engine, never in the image.
  build deps spark-sched-cache:deps
  build devtools spark-sched-cache:devtools
  build test "$TEST_IMAGE"
  build runtime "$IMAGE"
  # Old untagged images are pruned only in an engine of our own, never in a user's.
  if [ -f "$RUN_DIR/engine.pid" ]; then docker image prune -f >/dev/null; fi
}

check_image_clean() {
  # The final image: non-root, and neither the build CA, pip's build settings nor any secret in
  # its files or its history.
  local user history
  user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
  [ "$user" = spark ] || { say "image user is '$user', expected spark"; return 1; }
  if docker run --rm --network none --entrypoint sh "$IMAGE" -c \
      'test -e /tmp/build-ca || test -e /tmp/build || find / -xdev -name ca.crt 2>/dev/null | grep -q .'; then
    say "the final image holds build files (/tmp/build-ca, /tmp/build or a ca.crt)"; return 1
  fi
  history=$(docker history --no-trunc --format '{{.CreatedBy}}' "$IMAGE")
  if grep -E 'PIP_(INDEX_URL|EXTRA_INDEX_URL|TRUSTED_HOST|CERT)|build-ca|spark.authenticate.secret' <<<"$history"; then
    say "the final image's history names build settings or secrets"; return 1
  fi
}

write_run_files() {
  # The cluster's secret (readable only by the image's user) and compose's settings for this run.
  local secrets="$RUN_DIR/secrets" ports
  mkdir -m 0700 -p "$secrets"
  ( umask 077
    printf 'spark.authenticate=true\nspark.authenticate.secret=%s\n' "$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
      >"$secrets/spark-auth.properties" )
  chown "$IMAGE_UID" "$secrets/spark-auth.properties"
  chmod 0400 "$secrets/spark-auth.properties"
  ports=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
  MASTER_PORT=${ports% *}
  WEBUI_PORT=${ports#* }
  cat >"$RUN_DIR/compose.env" <<EOF
SPARK_SCHED_BASE=$BASE
SPARK_SCHED_IMAGE=$IMAGE
SPARK_SCHED_TEST_IMAGE=$TEST_IMAGE
SPARK_SCHED_SECRETS=$secrets
SPARK_MASTER_PORT=$MASTER_PORT
SPARK_MASTER_WEBUI_PORT=$WEBUI_PORT
EOF
}

run_tests() {
  if [ -n "${SPARK_SCHED_DOCKER_PYTEST:-}" ]; then
    # shellcheck disable=SC2086
    compose run --rm tests python -m pytest -p no:cacheprovider $SPARK_SCHED_DOCKER_PYTEST
  else
    compose run --rm tests
  fi
}

wait_for_workers() {
  python3 - "$WEBUI_PORT" <<'EOF'
import json, sys, time, urllib.request
url, deadline, alive = f"http://127.0.0.1:{sys.argv[1]}/json/", time.monotonic() + 120, set()
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            alive = {w["host"] for w in json.load(resp)["workers"] if w["state"] == "ALIVE"}
    except (OSError, ValueError):
        pass
    if len(alive) >= 3:
        print(f"docker-test: workers alive on {sorted(alive)}")
        sys.exit(0)
    time.sleep(0.5)
sys.exit(f"docker-test: only {sorted(alive)} registered with the master within 120s")
EOF
}

cluster_test() {
  local start=$SECONDS
  compose up -d master worker-1 worker-2 worker-3
  wait_for_workers
  say "cluster up in $((SECONDS - start))s; running the cluster check"
  compose run --rm tests python docker/cluster_check.py "spark://127.0.0.1:$MASTER_PORT" \
    --secret-file /run/secrets/spark-auth --tasks 6 --hosts 3
  say "cluster check done at $((SECONDS - start))s; stopping the cluster"
  compose down --remove-orphans -t 20
}

main() {
  cd "$ROOT"
  mkdir -p "$(dirname "$DATA_ROOT")"
  exec 9>"$DATA_ROOT.lock"
  flock -w 1800 9 || { say "another docker-test holds $DATA_ROOT.lock"; exit 1; }
  DOCKER_HOST=$("$HERE/engine.sh" start "$RUN_DIR")
  export DOCKER_HOST
  say "engine at $DOCKER_HOST"
  if [ -n "${SPARK_SCHED_BASE:-}" ]; then
    BASE=$SPARK_SCHED_BASE
  else
    BASE=$BASE_TAG
    timed base "$HERE/make-base.sh" "$BASE"
  fi
  say "building $TEST_IMAGE and $IMAGE from $BASE"
  CONTEXT=$(build_context)
  timed build build_all
  check_image_clean
  write_run_files
  say "tests service: ${SPARK_SCHED_DOCKER_PYTEST:-the suite without 'cluster' tests (image default)}"
  timed tests run_tests
  say "compose cluster: master on 127.0.0.1:$MASTER_PORT, workers on 127.0.0.2/.3/.4"
  timed cluster cluster_test
  local size user
  size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')
  user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
  say "image $IMAGE: $size, user $user, base $BASE"
  say "times: base ${TIMES[base]:-0}s, build ${TIMES[build]}s," \
    "tests ${TIMES[tests]}s, cluster ${TIMES[cluster]}s, total $((SECONDS - T0))s"
  say "passed"
}

main "$@"
