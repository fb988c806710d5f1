#!/usr/bin/env bash
# Refreshes the GraphiQL that certd serves at / (outside --production) from
# npm: the browser builds of the packages pinned in
# internal/graphiql/npm/package.json and package-lock.json are copied into
# internal/graphiql/static/vendor, with the licence of every package
# installed. The files are committed: building and testing certd needs
# neither Node nor the network; only this script does.
#
#   scripts/vendor-graphiql.sh            # reinstall the locked versions, copy the files
#   scripts/vendor-graphiql.sh --update   # re-resolve package-lock.json from package.json first
#
# To move to another version: edit the exact version in
# internal/graphiql/npm/package.json, run with --update, run
# `go test ./internal/graphiql/` (the browser test loads it under the strict
# CSP with the network blocked) and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
npmdir=internal/graphiql/npm
dst=internal/graphiql/static/vendor

command -v npm >/dev/null || { echo "vendor-graphiql: needs npm (Node.js)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$npmdir/package.json" "$tmp/"
if [ "${1:-}" = "--update" ]; then
  (cd "$tmp" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund)
  cp "$tmp/package-lock.json" "$npmdir/package-lock.json"
else
  cp "$npmdir/package-lock.json" "$tmp/"
fi
# npm ci installs exactly the lock file's tree and checks every integrity hash.
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund)

rm -rf "$dst"
mkdir -p "$dst"
node "$npmdir/vendor.mjs" "$tmp/node_modules" "$dst"
echo "vendor-graphiql: $(ls "$dst" | wc -l) entries in $dst"
