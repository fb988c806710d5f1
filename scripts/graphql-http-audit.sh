#!/usr/bin/env bash
# Runs graphql-http's GraphQL-over-HTTP server audit (npm graphql-http,
# version pinned in scripts/graphql-http-audit/package-lock.json) against
# a demo certd built from this tree, and fails when any MUST or SHOULD
# fails. CI runs it; it needs Go, Node.js and npm (the registry or a
# mirror), nothing else:
#
#   scripts/graphql-http-audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in go node npm; do
  command -v "$tool" >/dev/null || { echo "graphql-http-audit: needs $tool on PATH" >&2; exit 1; }
done
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/certd" ./cmd/certd
mkdir "$tmp/audit"
cp scripts/graphql-http-audit/package.json scripts/graphql-http-audit/package-lock.json scripts/graphql-http-audit/audit.mjs "$tmp/audit/"
# npm ci installs exactly the locked versions and checks their integrity hashes.
(cd "$tmp/audit" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

# A demo server on a free loopback port; its first log line says where the API is.
"$tmp/certd" serve --demo --data-dir "$tmp/data" --addr 127.0.0.1:0 --metrics-addr off 2>"$tmp/certd.log" &
pid=$!
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's/.*"graphql":"\(http:[^"]*\)".*/\1/p' "$tmp/certd.log" | head -n 1)
  if [ -n "$url" ] && curl -fsS "${url%/graphql}/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/certd.log" >&2; echo "graphql-http-audit: certd exited" >&2; exit 1; fi
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/certd.log" >&2; echo "graphql-http-audit: certd did not start" >&2; exit 1; }
echo "graphql-http-audit: auditing $url"
node "$tmp/audit/audit.mjs" "$url"
