#!/usr/bin/env bash
# The PostgreSQL event store's tests use the machine's PostgreSQL on 127.0.0.1:5432 (trust auth,
# database `test`; this kind of machine starts it before every session). Where it is not running,
# start the machine's cluster with the machine's command; fail clearly where it cannot be reached.
set -euo pipefail
url=${STOCKLINE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
reachable() { psql "$url" -Atqc 'SELECT 1' >/dev/null 2>&1; }
if reachable; then exit 0; fi
if ! command -v psql >/dev/null || [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql)" ]; then
  echo "PostgreSQL is not installed here (no psql or no cluster under /etc/postgresql); the event-store tests need it at $url" >&2
  exit 1
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
echo "starting PostgreSQL $version (cluster main)"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 100); do
  if reachable; then exit 0; fi
  sleep 0.1
done
echo "PostgreSQL cannot be reached at $url (psql says: $(psql "$url" -Atqc 'SELECT 1' 2>&1 | head -1))" >&2
exit 1
