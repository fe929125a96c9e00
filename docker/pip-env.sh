# Sourced by the Dockerfile's builder stages before pip runs: the building machine's pip
# settings arrive as build args (left unset when the machine has none), and a CA bundle in
# docker/build-ca/ca.crt, if one was handed to the build, becomes pip's trust store.
for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT; do
  eval "value=\${$var:-}"
  if [ -n "$value" ]; then export "$var"; else unset "$var"; fi
done
unset value
if [ -s /tmp/build-ca/ca.crt ]; then
  export PIP_CERT=/tmp/build-ca/ca.crt
fi
