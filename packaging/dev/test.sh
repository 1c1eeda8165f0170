#!/usr/bin/env bash
# The whole test suite: formatting, lints and every test of the workspace.
# Installs its prerequisites first (see prerequisites.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
packaging/dev/prerequisites.sh
if [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked
