#!/usr/bin/env bash
# Some tests use the machine's JetStream server on 127.0.0.1:4222 (this kind of machine starts one
# before every session). Where none is listening, start one with a throw-away store.
set -euo pipefail
if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then exit 0; fi
bin=$(command -v nats-server || echo /usr/sbin/nats-server)
store=$(mktemp -d -t stockline-nats-XXXXXX)
echo "starting nats-server with JetStream on 127.0.0.1:4222 (store $store)"
nohup "$bin" -a 127.0.0.1 -p 4222 -js -sd "$store" >"$store/nats.log" 2>&1 &
for _ in $(seq 1 50); do
  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then exit 0; fi
  sleep 0.1
done
echo "nats-server did not come up; see $store/nats.log" >&2
exit 1
