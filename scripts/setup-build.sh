#!/usr/bin/env bash
# Installs what `make` needs when it is missing: the wasm32 target and wasm-bindgen-cli
# at exactly the version of the wasm-bindgen crate. Cheap when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    echo "setup: adding the $component component"
    rustup component add "$component"
  fi
done

want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "setup: installing wasm-bindgen-cli $want (about 5 minutes)"
  # Not --locked: its lock file wants a crate version the registry does not serve (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "$want" --force
fi
