#!/usr/bin/env bash
# make run: `stockline up` with the demo's configuration, plus the demo feed as its own driver (it
# publishes as the demo's WMS and ERP users and reserves through the API). Ctrl-C stops the feed,
# then every part and NATS. CONFIG=<file> runs another configuration; arguments go to the feed
# (e.g. --rate 20 --duration 60).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-config/demo.json}
DATA=$(node -e 'const p=require("path");const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(p.resolve(c.dataDir ?? p.join(".data", c.distributor.id ?? "distributor")))' "$CONFIG")
rm -f "$DATA/up/state.json"

# node itself (not npx): the pid below is the supervisor, which SIGTERM stops cleanly.
node --import tsx services/cli.ts up --config "$CONFIG" &
UP=$!
stop_up() {
  kill -TERM "$UP" 2>/dev/null || true
  wait "$UP" 2>/dev/null || true
}
trap stop_up EXIT

api_ready() {
  node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.exit(s.parts.some(p=>p.name==="api"&&p.ready)?0:1)' "$DATA/up/state.json" 2>/dev/null
}
until api_ready; do
  kill -0 "$UP" 2>/dev/null || { echo "stockline up exited before the API was ready (logs in $DATA/logs)"; exit 1; }
  sleep 0.5
done

node --import tsx services/cli.ts feed --config "$CONFIG" "$@" || true
