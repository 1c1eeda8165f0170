#!/usr/bin/env bash
# Runs the kiosk in demo mode: virtual card reader, virtual printer, a local
# reference receiver, and the built-in catalogue. Installs its prerequisites
# first (see prerequisites.sh). Extra arguments go to `kiosk-app demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."
packaging/dev/prerequisites.sh
if [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
exec cargo run --locked -p kiosk-app -- demo "$@"
