#!/usr/bin/env bash
# Guard run by `make test`: no test, benchmark, script or build file may read anything
# outside the repository (a fresh clone alone must pass `make test`). Fails on any
# tracked file that names a folder beside the repository or an absolute work path.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\.\./shared|/work/|\.\./\.\./\.\./|\$\{?HOME\}?/[^.]'
hits=$(git ls-files -- src tests bench scripts extension www fuzz Makefile Cargo.toml package.json \
  ':!tests/fixtures/real/**' ':!scripts/check-standalone.sh' ':!scripts/setup-*.sh' \
  | xargs grep -nE "$pattern" 2>/dev/null || true)
if [ -n "$hits" ]; then
  echo "These files reach outside the repository (copy what they need into it):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "standalone: nothing reads outside the repository"
