#!/usr/bin/env bash
# The deployable artifacts: one zipped arm64 `bootstrap` per Lambda under target/lambda/,
# built by cargo-lambda (with zig from the tools venv). Prints each zip's size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=aarch64-unknown-linux-gnu
# The arm64 standard library, once (rustup keeps it per toolchain).
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
packages=()
for dir in crates/functions/*/; do
  packages+=(-p "berth-$(basename "$dir")")
done
cargo lambda build --release --arm64 --output-format zip "${packages[@]}"
for dir in crates/functions/*/; do
  zip="target/lambda/berth-$(basename "$dir")/bootstrap.zip"
  printf '%-22s %9d bytes  %s\n' "berth-$(basename "$dir")" "$(stat -c %s "$zip")" "$zip"
done
