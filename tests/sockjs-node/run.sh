#!/usr/bin/env bash
# Runs check.mjs (real sockjs-client + @stomp/stompjs from npm, under Node) against a kwanje
# built from this tree, on a free port with a throwaway database. Needs node and npm; not part
# of `cargo test`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
    if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --manifest-path "$root/Cargo.toml"
cp "$here/package.json" "$here/check.mjs" "$work/"
(cd "$work" && npm install --silent --no-audit --no-fund >/dev/null)

export DATABASE_URL="sqlite://$work/kwanje.db" KWANJE_JWT_SECRET="sockjs-node-check" KWANJE_ADMIN_PASSWORD="check"
KWANJE_BIND=127.0.0.1:0 "$root/target/debug/kwanje" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    addr="$(sed -n 's/.*serving addr=\([0-9.:]*\).*/\1/p' "$work/server.log")"
    [[ -n "$addr" ]] && break
    sleep 0.1
done
[[ -n "$addr" ]] || { cat "$work/server.log"; exit 1; }
token="$("$root/target/debug/kwanje" token --sub op-node --role operator)"
(cd "$work" && BASE="http://$addr" TOKEN="$token" node check.mjs)
