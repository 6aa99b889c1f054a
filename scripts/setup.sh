#!/usr/bin/env bash
# Installs everything Conduit needs and builds it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
pnpm install --frozen-lockfile
pnpm build
