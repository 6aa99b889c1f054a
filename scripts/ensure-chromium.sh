#!/usr/bin/env bash
# The dashboard's end-to-end tests drive Debian's Chromium (playwright-core never downloads a browser):
# use the one installed, or install it with apt. Fails, saying why, when neither works.
set -uo pipefail
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
echo "installing chromium (Debian package) for the dashboard's end-to-end tests" >&2
if [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 || true
else
  (sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 || true
fi
[ -x "$CHROMIUM" ] && exit 0
echo "no Chromium at $CHROMIUM and it could not be installed: run 'apt-get install -y chromium' as root (or set CHROMIUM_PATH); the dashboard's end-to-end tests need it" >&2
exit 1
