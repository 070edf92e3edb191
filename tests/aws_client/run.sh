#!/usr/bin/env bash
# Runs the tests with real clients against the idc-scim binary: the AWS JSON APIs (the
# Identity Store API, sso-admin) with boto3 and the AWS CLI, the `rfc` profile of the SCIM
# endpoint with scim2-client. A virtualenv with the pinned clients, a debug build, then pytest
# on every test_*.py.
# Exits non-zero when anything fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv-aws"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

(cd "$root" && cargo build --quiet --bin idc-scim)
export IDC_SCIM_BIN="${IDC_SCIM_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/idc-scim}"

cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" test_*.py
