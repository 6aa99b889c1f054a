# Shared by setup.sh and test.sh: puts the pinned pnpm on PATH, installs it if needed.
PNPM_VERSION=10.34.8
export TURBO_TELEMETRY_DISABLED=1
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
# Native addons (better-sqlite3) build against the local Node headers when they are installed.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "installing pnpm $PNPM_VERSION" >&2
  # Globally when npm may (so `pnpm start` works afterwards); otherwise into .tools/.
  if ! npm install --silent --no-audit --no-fund -g "pnpm@$PNPM_VERSION" >&2 2>/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    if [ ! -x .tools/node_modules/.bin/pnpm ] || [ "$(.tools/node_modules/.bin/pnpm --version)" != "$PNPM_VERSION" ]; then
      npm install --silent --no-audit --no-fund --prefix .tools "pnpm@$PNPM_VERSION" >&2
    fi
    PATH="$PWD/.tools/node_modules/.bin:$PATH"
    export PATH
    echo "pnpm is in .tools/node_modules/.bin (add it to your PATH)" >&2
  fi
fi
