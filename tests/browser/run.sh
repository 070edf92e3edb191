#!/usr/bin/env bash
# Runs the browser tests of idc-scim's pages: installs Debian's chromium when it is missing,
# the pinned playwright-core from the lockfile (never a browser download), builds the binary,
# then runs every *.test.mjs of this folder with node's test runner. Exits non-zero when
# anything fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent

(cd "$root" && cargo build --quiet --bin idc-scim)
export IDC_SCIM_BIN="${IDC_SCIM_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/idc-scim}"

exec node --test --test-concurrency=1 "$@" ./*.test.mjs
