#!/usr/bin/env bash
# The Redis-backed tests need a real server at 127.0.0.1:6379: use the one running, start one, or install one.
set -uo pipefail
ping_redis() { node -e '
  const s = require("net").connect(6379, "127.0.0.1");
  s.setTimeout(1000, () => process.exit(1));
  s.on("error", () => process.exit(1));
  s.on("connect", () => s.write("PING\r\n"));
  s.on("data", (d) => process.exit(String(d).startsWith("+PONG") ? 0 : 1));
'; }
ping_redis && exit 0
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2 || true
  else
    (sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2 || true
  fi
fi
if command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp >&2 || true
  for _ in $(seq 1 50); do ping_redis && exit 0; sleep 0.1; done
fi
echo "no Redis at 127.0.0.1:6379 and none could be started" >&2
exit 1
