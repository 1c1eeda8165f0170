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

# The card tests run their own pcscd with only the virtual reader driver on the
# default socket; a system pcscd (socket-activated on Debian) would hold it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pcscd.socket pcscd.service 2>/dev/null; then
  echo "==> stopping the system pcscd for the test run (it starts again on demand)"
  if [ "$(id -u)" -eq 0 ]; then systemctl stop pcscd.socket pcscd.service; else sudo systemctl stop pcscd.socket pcscd.service; fi
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked

echo "==> the Debian package: lintian, install, kiosk session, upgrade (packaging/tests/run.sh)"
# cargo-deb packages the debug binaries the tests just built (no release build).
# Installed here rather than in prerequisites.sh so demo.sh does not pay for it.
CARGO_DEB_VERSION="3.8.0"
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  echo "==> installing cargo-deb $CARGO_DEB_VERSION (once per machine, about 2 minutes)"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi
if [ "$(id -u)" -eq 0 ]; then
  packaging/tests/run.sh --prebuilt
else
  sudo env "PATH=$PATH" "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" packaging/tests/run.sh --prebuilt
fi
