#!/usr/bin/env bash
# Installs what building, running and testing the kiosk needs on Debian 12:
# the Debian packages below and a Rust toolchain. Safe to run again: it only
# installs what is missing. Used by demo.sh and test.sh.
set -euo pipefail

# Debian packages, one group per reason.
PACKAGES=(
  # building: C compiler and pkg-config for the -sys crates
  build-essential pkg-config curl ca-certificates
  # PC/SC card readers: the library, the daemon, and the virtual reader driver for tests/demo
  libpcsclite-dev pcscd vsmartcard-vpcd
  # Debian's own virtual ISO 7816 card, which the card tests must identify as unknown
  python3-virtualsmartcard python3-pycryptodome
  # the Slint UI: fontconfig to build; espeak-ng speaks the screen ("Vorlesen")
  libfontconfig-dev espeak-ng
  # the demo opens a window when a display exists; the tests give it Xvfb
  xvfb
  # eID login: AusweisApp, driven headless over its WebSocket SDK (tests start it themselves)
  ausweisapp2
  # the Debian package's tests (packaging/tests/run.sh): lintian checks the .deb; the package's own
  # dependencies so apt installs it without fetching; grim photographs the session; sqlite3 reads
  # the outbox across the upgrade; debootstrap makes the minimal Debian 12 it is installed into
  lintian cage xwayland seatd grim libccid sqlite3 openssl procps python3 debootstrap
)

RUST_MINIMUM="1.92"

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "error: not root and no sudo: run this as root, or install sudo, to install: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Rust: Debian 12's rustc is too old for edition 2024, so use rustup's.
if [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
rust_version="$(rustc --version 2>/dev/null | awk '{print $2}' || true)"
if [ -z "$rust_version" ] || ! version_at_least "$rust_version" "$RUST_MINIMUM"; then
  if command -v rustup >/dev/null 2>&1; then
    echo "==> updating the Rust toolchain (have ${rust_version:-none}, need $RUST_MINIMUM)"
    rustup toolchain install stable --profile minimal --component rustfmt,clippy
    rustup default stable
  else
    echo "==> installing Rust with rustup (need $RUST_MINIMUM or newer)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
  fi
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
