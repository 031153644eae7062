#!/usr/bin/env bash
# The Python package's tests, as CI runs them: a fresh virtual environment
# in a temporary folder, `pip install ./ledger-py pytest` (pip fetches
# maturin, which builds the extension with cargo), pandas when it installs,
# the `ledger` command line built for the interop tests (LEDGER_BIN), then
# pytest. Needs only Rust and Python 3 (with its venv module).
#
#   ledger-py/run-tests.sh [pytest arguments...]
#
# PYTHON picks the interpreter (default python3); KEEP_VENV=1 keeps the
# environment and prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if ! command -v "$PYTHON" >/dev/null; then
    echo "error: $PYTHON not found: the Python tests need Python 3 (>= 3.9)" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "error: $PYTHON cannot make a virtual environment (the venv/ensurepip modules are missing);" >&2
    echo "       on Debian or Ubuntu: apt-get install python3-venv" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tradeledger-tests.XXXXXX")
cleanup() {
    if [[ "${KEEP_VENV:-}" == 1 ]]; then
        echo "kept the environment in $work/venv"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

echo "== python: fresh virtual environment in $work/venv ($("$PYTHON" --version))"
"$PYTHON" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --upgrade pip

echo "== python: pip install ./ledger-py pytest (maturin builds the extension)"
"$py" -m pip install --quiet ./ledger-py pytest
if "$py" -m pip install --quiet pandas 2>/dev/null; then
    echo "   pandas installed: to_pandas is tested"
else
    echo "   pandas did not install: the to_pandas test is skipped (its ImportError is tested)"
fi

echo "== python: cargo build -p ledger-tools --release (the CLI for the interop tests)"
cargo build --quiet -p ledger-tools --release
target=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export LEDGER_BIN="$target/release/ledger"

echo "== python: pytest ledger-py/tests"
# From outside the source tree, so the installed package is what is tested.
(cd "$work" && "$py" -m pytest -q "$OLDPWD/ledger-py/tests" "$@")
