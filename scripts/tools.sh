#!/usr/bin/env bash
# Installs what berth's local loop and checks need, idempotently, from the package
# registries only: two Python environments (emulator + cargo-lambda + cfn-lint; SAM CLI)
# and the Node ASL validator. Prints the environment's bin directories, one per line.
#
# Environments live under $BERTH_TOOLS (default ~/.cache/berth-tools), keyed by the hash of
# their requirements file, so a fresh clone reuses them and a changed pin rebuilds them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
mkdir -p "$tools"
python=${PYTHON:-python3}

venv_for() {
  local req=$1 name=$2
  local hash
  hash=$(sha256sum "$req" | cut -c1-12)
  local dir="$tools/$name-$hash"
  if [ ! -x "$dir/bin/python" ] || [ ! -f "$dir/.complete" ]; then
    echo "installing $name tools into $dir" >&2
    rm -rf "$dir"
    "$python" -m venv "$dir" >&2
    "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
    touch "$dir/.complete"
  fi
  echo "$dir/bin"
}

emulator_bin=$(venv_for "$root/tools/requirements-emulator.txt" emulator)
sam_bin=$(venv_for "$root/tools/requirements-sam.txt" sam)

if [ ! -x "$root/node_modules/.bin/asl-validator" ]; then
  echo "installing asl-validator" >&2
  (cd "$root" && npm ci --no-audit --no-fund --silent >&2)
fi

echo "$emulator_bin"
echo "$sam_bin"
