#!/usr/bin/env bash
# Sets up and runs every test: installs pnpm and the dependencies, makes sure Redis runs and
# Chromium is installed (the dashboard's end-to-end tests),
# generates, builds, type-checks and tests each package, then prints the totals.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
set -e
pnpm install --frozen-lockfile
bash scripts/ensure-redis.sh
bash scripts/ensure-chromium.sh
find apps packages -maxdepth 2 -name 'test-results*.json' -delete
set +e
pnpm test
status=$?
node scripts/test-totals.mjs
totals=$?
[ $status -eq 0 ] && [ $totals -eq 0 ]
