#!/usr/bin/env bash
# The Debian package's tests: builds buergerkiosk with cargo-deb from the debug
# binaries, runs lintian, installs the package into a minimal Debian 12 chroot and
# on this machine (an older build first, then upgrades to the real one), checks files, the kiosk user, permissions
# and the systemd unit, runs the kiosk session headless under cage and takes a
# screenshot of its first screen, checks that an upgrade keeps queued applications
# and the admin's configuration, and purges the package again.
#
#   packaging/tests/run.sh [--prebuilt] [--no-chroot] [--out DIR]
#
#   --prebuilt  use target/debug/kiosk-app and kiosk-hwtest as they are (test.sh
#               passes this right after `cargo test --workspace`, which built them);
#               without it they are built first with `cargo build -p ...`.
#   --out DIR   where the .deb files, screenshots and logs go
#               (default /tmp/kiosk-packaging-test).
#   --no-chroot skip the install into a minimal Debian 12 made with debootstrap
#               (needs Debian's mirror; its packages are cached in
#               /var/cache/buergerkiosk-test, so later runs download little).
#
# Needs root (it installs and purges a package) and a machine where the package's
# dependencies are installed or installable (packaging/dev/prerequisites.sh).
# systemd need not run: the session is started the way kiosk.service starts it.
# It refuses to run where buergerkiosk was installed by someone else.
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO="$PWD"
PREBUILT=0
CHROOT_TEST=1
OUT=/tmp/kiosk-packaging-test
while [ "$#" -gt 0 ]; do
    case "$1" in
        --prebuilt) PREBUILT=1 ;;
        --no-chroot) CHROOT_TEST=0 ;;
        --out)
            OUT="${2:?--out needs a folder}"
            shift
            ;;
        *)
            echo "usage: packaging/tests/run.sh [--prebuilt] [--no-chroot] [--out DIR]" >&2
            exit 2
            ;;
    esac
    shift
done

PKG=buergerkiosk
UNIT=/usr/lib/systemd/system/kiosk.service
# Marks an install made by this script, so an interrupted run is cleaned up by the next.
MARKER=/var/tmp/buergerkiosk-packaging-test.in-progress
HELPERS="$REPO/packaging/tests/helpers.py"
# Ports of the smoke test's kiosk (metrics); far from the default 9464.
SMOKE_METRICS_PORT=19464
# Highest accepted `systemd-analyze security` exposure of kiosk.service
# (docs/operations.md records the current value).
MAX_EXPOSURE=2.5

passed=0
failed=0
skipped=0
ok() {
    passed=$((passed + 1))
    echo "  ok: $*"
}
fail() {
    failed=$((failed + 1))
    echo "  FAILED: $*" >&2
}
skip() {
    skipped=$((skipped + 1))
    echo "  skipped: $*"
}
# check DESCRIPTION COMMAND...: runs COMMAND, counts the result.
check() {
    local what="$1"
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
step() { echo "==> $* ($((SECONDS))s)"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "error: packaging/tests/run.sh installs a Debian package: run it as root" >&2
    exit 1
fi
for tool in cargo-deb lintian cage grim sqlite3 python3 openssl curl setpriv debootstrap; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: '$tool' is missing; packaging/dev/prerequisites.sh installs it" >&2
        exit 1
    fi
done
if [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

# --- cleaning up ---------------------------------------------------------------

session_pids=()
cleanup_install() {
    for pid in "${session_pids[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    session_pids=()
    if [ -n "${NOTIFY_PID:-}" ]; then kill "$NOTIFY_PID" 2>/dev/null || true; fi
    rm -rf /run/kiosk
    if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "installed\|config-files"; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$PKG" >>"$OUT/apt.log" 2>&1 || true
    fi
    # What purge keeps on purpose (the data folder, the user) was made by this test.
    rm -rf /var/lib/kiosk /var/cache/kiosk
    if getent passwd kiosk >/dev/null; then userdel kiosk || true; fi
    if getent group kiosk >/dev/null; then groupdel kiosk || true; fi
    rm -f "$MARKER"
}

if [ -e "$MARKER" ]; then
    echo "==> an earlier run of this test was interrupted: removing what it installed"
    mkdir -p "$OUT"
    cleanup_install
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "installed\|config-files"; then
    echo "error: $PKG is installed on this machine, not by this test; it would be purged." >&2
    echo "       Run the test on a test or CI machine, or remove it first: apt-get purge $PKG" >&2
    exit 1
fi
if getent passwd kiosk >/dev/null; then
    echo "error: a user 'kiosk' exists already; the test checks that the package creates it." >&2
    exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
# Not under /tmp: the session gets a private /tmp (PrivateTmp=) and must still see it.
WORK="$(mktemp -d /var/tmp/kiosk-packaging-work.XXXXXX)"
chmod 0755 "$WORK"
on_exit() {
    local status=$?
    if [ -e "$MARKER" ]; then
        cleanup_install
    fi
    rm -rf "$WORK"
    [ -z "${CHROOT:-}" ] || rm -rf "$CHROOT"
    exit "$status"
}
trap on_exit EXIT

# --- the binaries and the .deb files ---------------------------------------------

step "finding the binaries"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
for bin in kiosk-app kiosk-hwtest; do
    crate=kiosk-app
    [ "$bin" = kiosk-hwtest ] && crate=kiosk-hwtest
    if [ "$PREBUILT" -eq 0 ] || [ ! -x "$TARGET_DIR/debug/$bin" ]; then
        [ "$PREBUILT" -eq 1 ] && echo "    $bin was not built by the test run: building it"
        cargo build --locked -p "$crate" --bin "$bin"
    fi
done

VERSION="$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "kiosk-app"))')"
NEW_DEB_VERSION="$VERSION-1"
# The "installed version N" of the upgrade test: same binaries, a lower version.
OLD_DEB_VERSION="$VERSION-1~upgradetest1"

step "building $PKG $OLD_DEB_VERSION and $NEW_DEB_VERSION with cargo-deb (from the debug binaries)"
# --profile dev --no-build: package what the test run built, no second (release) build.
# cargo-deb warns that dev builds are meant for tests only, which is what these are.
for v in "$OLD_DEB_VERSION" "$NEW_DEB_VERSION"; do
    cargo deb -p kiosk-app --no-build --profile dev --locked --fast \
        --deb-version "$v" --output "$OUT/${PKG}_${v}.deb" >>"$OUT/cargo-deb.log" 2>&1 || {
        cat "$OUT/cargo-deb.log" >&2
        exit 1
    }
done
OLD_DEB="$OUT/${PKG}_${OLD_DEB_VERSION}.deb"
NEW_DEB="$OUT/${PKG}_${NEW_DEB_VERSION}.deb"
ls -l "$OLD_DEB" "$NEW_DEB"

step "lintian (errors fail the test)"
if lintian --fail-on error --info "$NEW_DEB" >"$OUT/lintian.txt" 2>&1; then
    ok "lintian shows no errors ($(grep -c '^W: ' "$OUT/lintian.txt" || true) warnings, see $OUT/lintian.txt)"
else
    cat "$OUT/lintian.txt" >&2
    fail "lintian shows errors"
fi

step "package contents and metadata"
dpkg-deb --contents "$NEW_DEB" >"$OUT/contents.txt"
dpkg-deb --field "$NEW_DEB" >"$OUT/control.txt"
for path in ./usr/bin/kiosk-app ./usr/bin/kiosk-hwtest ./usr/sbin/kiosk-display-rotation \
    ./etc/kiosk/kiosk.toml ./usr/lib/systemd/system/kiosk.service \
    ./usr/lib/tmpfiles.d/kiosk.conf ./usr/lib/tmpfiles.d/kiosk-console.conf \
    ./lib/udev/rules.d/70-kiosk.rules ./usr/lib/sysctl.d/90-kiosk.conf \
    ./usr/share/buergerkiosk/cursors/kiosk-invisible/cursors/left_ptr \
    ./usr/share/buergerkiosk/fonts/fonts.conf ./usr/share/buergerkiosk/fonts/NotoSans-Regular.ttf \
    ./usr/share/buergerkiosk/fonts/NotoSansArabic-Bold.ttf ./usr/share/buergerkiosk/fonts/OFL.txt \
    ./usr/share/doc/buergerkiosk/operations.md ./usr/share/doc/buergerkiosk/copyright \
    ./usr/share/doc/buergerkiosk/changelog.Debian.gz; do
    check "the package ships $path" grep -q " $path\( \|$\)" "$OUT/contents.txt"
done
depends="$(dpkg-deb --field "$NEW_DEB" Depends)"
for dep in pcscd libccid cage seatd xwayland espeak-ng adduser; do
    check "Depends has $dep" grep -qE "(^|, )$dep( |,|$)" <<<"$depends"
done
conffiles="$(dpkg-deb --ctrl-tarfile "$NEW_DEB" | tar -xO ./conffiles)"
check "kiosk.toml is a conffile" grep -qx /etc/kiosk/kiosk.toml <<<"$conffiles"
check "the invisible cursor is the file make-invisible-cursor.sh writes" \
    sh -c "packaging/session/make-invisible-cursor.sh '$WORK/cursor' && cmp -s '$WORK/cursor' packaging/session/cursors/kiosk-invisible/cursors/left_ptr"

# --- a minimal Debian 12 ----------------------------------------------------------

# Installs the package into a fresh minbase Debian 12 made with debootstrap, as an
# image build would: a chroot without /proc and without a running systemd. Catches
# maintainer scripts that only work on a booted machine, and dependencies that this
# machine happens to have but a clean Debian 12 does not.
CACHE=/var/cache/buergerkiosk-test
chroot_test() {
    CHROOT="$(mktemp -d /var/tmp/kiosk-packaging-chroot.XXXXXX)"
    mkdir -p "$CACHE/debootstrap" "$CACHE/apt"
    if ! debootstrap --variant=minbase --include=systemd,systemd-sysv --cache-dir="$CACHE/debootstrap" \
        bookworm "$CHROOT" http://deb.debian.org/debian >"$OUT/debootstrap.log" 2>&1; then
        tail -20 "$OUT/debootstrap.log" >&2
        fail "debootstrap a minimal Debian 12 ($OUT/debootstrap.log)"
        return 0
    fi
    cp "$NEW_DEB" "$CHROOT/tmp/$PKG.deb"
    find "$CACHE/apt" -name '*.deb' -exec cp -t "$CHROOT/var/cache/apt/archives/" {} + 2>/dev/null || true
    if chroot "$CHROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "/tmp/$PKG.deb" >"$OUT/chroot-apt.log" 2>&1; then
        ok "apt-get installs the package into a minimal Debian 12 chroot (no /proc, no systemd running)"
    else
        tail -20 "$OUT/chroot-apt.log" >&2
        fail "apt-get installs the package into a minimal Debian 12 chroot ($OUT/chroot-apt.log)"
    fi
    find "$CHROOT/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "$CACHE/apt/" {} + 2>/dev/null || true
    check "the chroot has the system user kiosk with home /var/lib/kiosk" \
        sh -c "chroot '$CHROOT' getent passwd kiosk | grep -q ':/var/lib/kiosk:/usr/sbin/nologin\$'"
    check "the chroot's /var/lib/kiosk is 750 kiosk:kiosk" \
        test "$(chroot "$CHROOT" stat -c '%a %U %G' /var/lib/kiosk)" = "750 kiosk kiosk"
    check "the chroot's kiosk.toml is 640 root:kiosk" \
        test "$(chroot "$CHROOT" stat -c '%a %U %G' /etc/kiosk/kiosk.toml)" = "640 root kiosk"
    check "kiosk.service is enabled in the chroot" \
        test -L "$CHROOT/etc/systemd/system/multi-user.target.wants/kiosk.service"
    check "the chroot's kiosk-app runs (all its libraries are there)" \
        sh -c "chroot '$CHROOT' /usr/bin/kiosk-app --version >/dev/null"
    rm -rf "$CHROOT"
    CHROOT=
}
if [ "$CHROOT_TEST" -eq 1 ]; then
    step "installing into a minimal Debian 12 (debootstrap chroot)"
    chroot_test
else
    skip "install into a minimal Debian 12 chroot (--no-chroot)"
fi

# --- installing version N ------------------------------------------------------

step "installing $PKG $OLD_DEB_VERSION (a fresh install)"
touch "$MARKER"
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$OLD_DEB" >>"$OUT/apt.log" 2>&1; then
    ok "apt-get installs the package and its dependencies"
else
    tail -30 "$OUT/apt.log" >&2
    fail "apt-get install $OLD_DEB"
    exit 1
fi

# The checks of an installed package; run after the fresh install and after the upgrade.
check_installed() {
    local want_version="$1"
    check "dpkg says $PKG $want_version is installed" \
        test "$(dpkg-query -W -f='${Status} ${Version}' "$PKG")" = "install ok installed $want_version"
    check "dpkg --verify finds every file as packaged (but the admin's conffiles)" \
        sh -c "dpkg --verify $PKG | grep -v ' c /etc/' | { ! grep .; }"
    # The user: a system account without password or shell, home = data folder.
    local entry uid shell home
    entry="$(getent passwd kiosk || true)"
    uid="$(cut -d: -f3 <<<"$entry")"
    home="$(cut -d: -f6 <<<"$entry")"
    shell="$(cut -d: -f7 <<<"$entry")"
    check "postinst created the system user kiosk (uid $uid < 1000)" test -n "$entry" -a "${uid:-1000}" -lt 1000
    check "kiosk has no login shell ($shell)" test "$shell" = /usr/sbin/nologin
    check "kiosk's home is /var/lib/kiosk" test "$home" = /var/lib/kiosk
    check "kiosk's password is locked" sh -c "passwd -S kiosk | awk '{exit !(\$2 == \"L\")}'"
    check "the group kiosk exists and is kiosk's primary group" test "$(id -gn kiosk)" = kiosk
    check_mode /usr/bin/kiosk-app 755 root root
    check_mode /usr/bin/kiosk-hwtest 755 root root
    check_mode /usr/sbin/kiosk-display-rotation 755 root root
    check_mode /etc/kiosk/kiosk.toml 640 root kiosk
    check_mode /etc/kiosk/credentials 700 root root
    check_mode /var/lib/kiosk 750 kiosk kiosk
    check_mode "$UNIT" 644 root root
    check "kiosk.service is enabled (multi-user.target wants it)" \
        test -L /etc/systemd/system/multi-user.target.wants/kiosk.service
    check "Ctrl+Alt+Del is masked (no reboot from a keyboard)" \
        test "$(readlink /etc/systemd/system/ctrl-alt-del.target)" = /dev/null
    check "systemd-analyze verify accepts kiosk.service" systemd_verify
    check_exposure
    check "kiosk-app --version runs" sh -c "/usr/bin/kiosk-app --version | grep -q '$VERSION'"
    check "kiosk-hwtest --help runs" sh -c "/usr/bin/kiosk-hwtest --help >/dev/null"
    check "the installed kiosk-app accepts its built-in catalogue" \
        sh -c "/usr/bin/kiosk-app catalogue check >/dev/null"
    check "every cursor of the invisible theme is the transparent pixel" sh -c \
        "for f in /usr/share/buergerkiosk/cursors/kiosk-invisible/cursors/*; do cmp -s \"\$f\" '$WORK/cursor' || exit 1; done"
    check "udev gives the kiosk group the printer devices" \
        grep -q 'KERNEL=="lp\[0-9\]\*", GROUP="kiosk"' /lib/udev/rules.d/70-kiosk.rules
    check "SysRq is off after boot (the last kernel.sysrq in sysctl.d is ours)" \
        test "$(systemd-analyze cat-config sysctl.d | grep '^kernel.sysrq' | tail -n1)" = "kernel.sysrq = 0"
}

check_mode() {
    local path="$1" mode="$2" owner="$3" group="$4" actual
    actual="$(stat -c '%a %U %G' "$path" 2>/dev/null || echo missing)"
    check "$path is $mode $owner:$group ($actual)" test "$actual" = "$mode $owner $group"
}

systemd_verify() {
    # verify reads the unit as systemd would: unknown keys, bad values, missing binaries.
    systemd-analyze verify "$UNIT" >"$WORK/verify.txt" 2>&1 || {
        cat "$WORK/verify.txt" >&2
        return 1
    }
    # Warnings about this unit count as failures too.
    if grep -i "kiosk.service" "$WORK/verify.txt" >&2; then return 1; fi
}

check_exposure() {
    local score
    systemd-analyze security --offline=true "$UNIT" >"$OUT/security.txt" 2>&1 || true
    score="$(sed -n 's/.*Overall exposure level for kiosk.service: \([0-9.]*\).*/\1/p' "$OUT/security.txt")"
    check "systemd-analyze security exposure $score <= $MAX_EXPOSURE" \
        awk -v s="${score:-99}" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(s <= max) }'
}

check_installed "$OLD_DEB_VERSION"

step "display rotation tool"
check "kiosk-display-rotation 90 turns picture and touch" sh -c \
    "kiosk-display-rotation 90 >/dev/null && grep -qx 'KIOSK_CAGE_ROTATION=\"-r\"' /etc/kiosk/display.env \
     && grep -q 'LIBINPUT_CALIBRATION_MATRIX}=\"0 -1 1 1 0 0\"' /etc/udev/rules.d/99-kiosk-touch-rotation.rules"
check "kiosk-display-rotation --show reports it" sh -c \
    "kiosk-display-rotation --show | grep -qx 'touch: 90 degrees clockwise'"
check "kiosk-display-rotation refuses 45 degrees" sh -c "! kiosk-display-rotation 45 2>/dev/null"

# --- the kiosk session, headless -------------------------------------------------

# A configuration for the smoke test: the shipped kiosk.toml with the portal on a
# closed loopback port (offline: applications queue), a fresh recipient key, no
# printer and no reader (this machine has neither).
set_key() { # FILE SECTION KEY VALUE: sets KEY = VALUE in [SECTION] (the line must exist)
    awk -v section="[$2]" -v key="$3" -v value="$4" '
        /^\[/ { in_section = ($0 == section) }
        in_section && ($0 ~ "^#? *" key " = ") { print key " = " value; next }
        { print }' "$1" >"$1.new" && mv "$1.new" "$1"
}
make_smoke_config() {
    mkdir -p "$WORK/etc"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/etc/portal.key" 2>/dev/null
    openssl pkey -in "$WORK/etc/portal.key" -pubout -out "$WORK/etc/portal-recipient.pem"
    cp /etc/kiosk/kiosk.toml "$WORK/etc/kiosk.toml"
    set_key "$WORK/etc/kiosk.toml" portal url '"http://127.0.0.1:9"'
    set_key "$WORK/etc/kiosk.toml" portal token_url '"http://127.0.0.1:9/oauth/token"'
    set_key "$WORK/etc/kiosk.toml" portal recipient_key "\"$WORK/etc/portal-recipient.pem\""
    set_key "$WORK/etc/kiosk.toml" printer enabled false
    set_key "$WORK/etc/kiosk.toml" reader enabled false
    set_key "$WORK/etc/kiosk.toml" metrics listen "\"127.0.0.1:$SMOKE_METRICS_PORT\""
    chmod 0644 "$WORK/etc/kiosk.toml" "$WORK/etc/portal-recipient.pem"
    # The portal secret as systemd hands it over ($CREDENTIALS_DIRECTORY).
    mkdir -p "$WORK/credentials"
    printf 'smoke-test-secret' >"$WORK/credentials/portal-secret"
    chown -R kiosk:kiosk "$WORK/credentials"
    chmod 0500 "$WORK/credentials"
    chmod 0400 "$WORK/credentials/portal-secret"
}

# as_kiosk COMMAND...: runs COMMAND as the kiosk user the way kiosk.service does:
# no new privileges, no capabilities, a clean environment.
as_kiosk() {
    setpriv --reuid=kiosk --regid=kiosk --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/kiosk USER=kiosk LANG=C.UTF-8 "$@"
}

# A setting of the installed unit, e.g. unit_setting ExecStart.
unit_setting() {
    sed -n "s/^$1=//p" "$UNIT"
}

# start_session NAME: starts cage + kiosk-app as kiosk.service does: the unit's own
# Environment= and ExecStart=, user kiosk without privileges or capabilities, a
# notify socket and WATCHDOG_USEC, and the unit's file system sandbox rebuilt in a
# mount namespace (ProtectSystem=strict: all read-only but ReadWritePaths=;
# PrivateTmp=; ProtectHome=; UMask=0077). Differences: wlroots' headless backend
# instead of DRM, the smoke test's configuration, and no seccomp or device filter.
# Sets SESSION_PID (= cage, the unit's main process) and SESSION_DIR.
start_session() {
    local name="$1" rotation exec_line
    local -a env_vars exec_words pre_words
    SESSION_DIR="$WORK/session-$name"
    mkdir -p "$SESSION_DIR/notify"
    chmod 0755 "$SESSION_DIR" "$SESSION_DIR/notify"
    # RuntimeDirectory=kiosk: systemd creates /run/kiosk for the session and removes
    # it afterwards; cage puts its Wayland socket there.
    RUNTIME_DIR="/run/$(unit_setting RuntimeDirectory)"
    rm -rf "$RUNTIME_DIR"
    install -d -m "$(unit_setting RuntimeDirectoryMode)" -o kiosk -g kiosk "$RUNTIME_DIR"
    # CacheDirectory=kiosk: kept between sessions, writable inside the sandbox.
    local cache_name
    cache_name="$(unit_setting CacheDirectory)"
    CACHE_DIR="/var/cache/${cache_name:?kiosk.service has no CacheDirectory=}"
    install -d -m "$(unit_setting CacheDirectoryMode)" -o kiosk -g kiosk "$CACHE_DIR"
    cat >"$SESSION_DIR/sandbox.sh" <<SANDBOX
set -e
# ReadWritePaths=/var/lib/kiosk, RuntimeDirectory= and CacheDirectory=, bound before / becomes
# read-only so they stay writable.
mount --bind /var/lib/kiosk /var/lib/kiosk
mount --bind "$RUNTIME_DIR" "$RUNTIME_DIR"
mount --bind "$CACHE_DIR" "$CACHE_DIR"
mount -o remount,bind,ro /
if mountpoint -q /run; then mount -o remount,bind,ro /run; fi
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /home
mount -t tmpfs -o mode=0700 tmpfs /root
if [ -d /run/user ]; then mount -t tmpfs -o mode=0000 tmpfs /run/user; fi
umask 0077
exec "\$@"
SANDBOX
    # ExecStartPre= (the configuration check), as the kiosk user with the credentials.
    local pre
    pre="$(unit_setting ExecStartPre)"
    pre="${pre/config check/config check --config $WORK/etc/kiosk.toml}"
    read -ra pre_words <<<"$pre"
    if as_kiosk CREDENTIALS_DIRECTORY="$WORK/credentials" "${pre_words[@]}" >"$SESSION_DIR/pre.log" 2>&1; then
        ok "ExecStartPre= passes ($pre)"
    else
        cat "$SESSION_DIR/pre.log" >&2
        fail "ExecStartPre= passes ($pre)"
    fi
    python3 "$HELPERS" notify-listen "$SESSION_DIR/notify/socket" "$SESSION_DIR/notify/log" 600 &
    NOTIFY_PID=$!
    python3 "$HELPERS" wait-for-file "$SESSION_DIR/notify/socket" 10
    # shellcheck disable=SC1091
    rotation="$(. /etc/kiosk/display.env && echo "$KIOSK_CAGE_ROTATION")"
    exec_line="$(unit_setting ExecStart)"
    exec_line="${exec_line//\$KIOSK_CAGE_ROTATION/$rotation}"
    exec_line="${exec_line/kiosk-app run/kiosk-app run --config $WORK/etc/kiosk.toml}"
    mapfile -t env_vars < <(unit_setting Environment)
    read -ra exec_words <<<"$exec_line"
    echo "    session $name: $exec_line"
    # setsid: the session's own process group stands in for the unit's control group.
    # setsid, unshare, sh, setpriv and env each exec the next, so $! is cage's pid.
    # WATCHDOG_PID=1 is what systemd would set (cage's pid); the unit must remove it.
    setsid unshare --mount --propagation private /bin/sh "$SESSION_DIR/sandbox.sh" \
        setpriv --reuid=kiosk --regid=kiosk --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/kiosk USER=kiosk LANG=C.UTF-8 \
        XDG_RUNTIME_DIR="/run/user/$(id -u kiosk)" \
        NOTIFY_SOCKET="$SESSION_DIR/notify/socket" WATCHDOG_USEC=4000000 WATCHDOG_PID=1 \
        CREDENTIALS_DIRECTORY="$WORK/credentials" \
        WLR_BACKENDS=headless WLR_HEADLESS_OUTPUTS=1 "${env_vars[@]}" \
        "${exec_words[@]}" >"$SESSION_DIR/output.log" 2>&1 &
    SESSION_PID=$!
    session_pids+=("$SESSION_PID")
}

# stop_session: what `systemctl stop kiosk` does: the unit's ExecStop= (SIGTERM to
# kiosk-app, wait for cage), then SIGTERM to whatever is left in the group, SIGKILL
# after TimeoutStopSec. Returns cage's exit status (must be 0).
stop_session() {
    local status=0 waited=0 exec_stop
    exec_stop="$(unit_setting ExecStop)"
    # shellcheck disable=SC2086
    eval "timeout 30 setpriv --reuid=kiosk --regid=kiosk --init-groups --no-new-privs \
        env -i PATH=/usr/bin:/bin MAINPID=$SESSION_PID $exec_stop" || true
    kill -TERM -- "-$SESSION_PID" 2>/dev/null || true
    while kill -0 "$SESSION_PID" 2>/dev/null && [ "$waited" -lt 300 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -KILL -- "-$SESSION_PID" 2>/dev/null || true
    wait "$SESSION_PID" || status=$?
    session_pids=()
    touch "$SESSION_DIR/notify/stop"
    wait "$NOTIFY_PID" 2>/dev/null || true
    rm -rf "$RUNTIME_DIR"
    cp "$SESSION_DIR/output.log" "$OUT/$(basename "$SESSION_DIR").log"
    [ "$status" -eq 0 ] || echo "    cage exited with status $status" >&2
    # cage 0.1.4 exits 0 whatever the app did: look for a panic or abort as well.
    if grep -E "panicked at|fatal runtime error|Aborted|core dumped" "$SESSION_DIR/output.log" >&2; then
        echo "    kiosk-app crashed while stopping (see $OUT/$(basename "$SESSION_DIR").log)" >&2
        status=1
    fi
    return "$status"
}

# check_session_up NAME: READY=1, WATCHDOG=1, /healthz, and a screenshot of a drawn
# portrait screen without Xwayland.
check_session_up() {
    local name="$1" stats width height colours
    if python3 "$HELPERS" wait-for-line "$SESSION_DIR/notify/log" READY=1 90 "$SESSION_PID"; then
        ok "kiosk-app reports READY=1 through \$NOTIFY_SOCKET"
    else
        fail "kiosk-app reports READY=1 through \$NOTIFY_SOCKET (90 s)"
        if ! kill -0 "$SESSION_PID" 2>/dev/null; then
            tail -20 "$SESSION_DIR/output.log" >&2
            fail "the session is running (it ended; $OUT/session-$name.log)"
            cp "$SESSION_DIR/output.log" "$OUT/session-$name.log"
            return 0
        fi
    fi
    check "kiosk-app sends WATCHDOG=1 (the unit removes WATCHDOG_PID, which names cage)" \
        python3 "$HELPERS" wait-for-line "$SESSION_DIR/notify/log" WATCHDOG=1 10 "$SESSION_PID"
    check "/healthz answers on 127.0.0.1:$SMOKE_METRICS_PORT" \
        curl -fsS --retry 10 --retry-delay 1 --retry-all-errors --max-time 5 -o /dev/null \
        "http://127.0.0.1:$SMOKE_METRICS_PORT/healthz"
    as_kiosk XDG_RUNTIME_DIR="$RUNTIME_DIR" WAYLAND_DISPLAY=wayland-0 \
        grim -t ppm - >"$SESSION_DIR/screen.ppm" || true
    as_kiosk XDG_RUNTIME_DIR="$RUNTIME_DIR" WAYLAND_DISPLAY=wayland-0 \
        grim - >"$OUT/screen-$name.png" || true
    stats="$(python3 "$HELPERS" image-stats "$SESSION_DIR/screen.ppm" 2>/dev/null || echo "0 0 0")"
    read -r width height colours <<<"$stats"
    check "the screen is portrait ($width x $height after kiosk-display-rotation 90)" \
        test "$height" -gt "$width"
    check "kiosk-app drew its first screen ($colours colours; $OUT/screen-$name.png)" \
        test "$colours" -gt 16
    check "no Xwayland was started (the app is a Wayland client)" \
        sh -c "! pgrep -u kiosk -x Xwayland >/dev/null"
}

# Queue applications the way a kiosk does while the portal is down, with the
# installed app as the kiosk user, in the data folder.
QUEUE_DIR=/var/lib/kiosk/upgrade-check
queued_ids() {
    as_kiosk sqlite3 -readonly "$QUEUE_DIR/outbox.sqlite" \
        "SELECT id FROM submissions WHERE state = 'queued' ORDER BY id;"
}

make_smoke_config

step "configuration"
if as_kiosk CREDENTIALS_DIRECTORY="$WORK/credentials" kiosk-app config check --config "$WORK/etc/kiosk.toml" \
    >"$WORK/check-filled.txt" 2>&1; then
    ok "the shipped kiosk.toml with the portal filled in passes 'kiosk-app config check'"
else
    cat "$WORK/check-filled.txt" >&2
    fail "the shipped kiosk.toml with the portal filled in passes 'kiosk-app config check'"
fi
as_kiosk kiosk-app config check >"$WORK/check.txt" 2>&1 && status=0 || status=$?
check "the shipped kiosk.toml as installed is refused (exit 2) until the office's key is there" \
    sh -c "test $status -eq 2 && grep -q 'portal.recipient_key' '$WORK/check.txt'"

step "before the upgrade: the admin's changes, queued applications, a running session"
echo "# changed by the admin (upgrade test)" >>/etc/kiosk/kiosk.toml
printf 'admin-secret' >/etc/kiosk/credentials/portal-secret
chmod 0600 /etc/kiosk/credentials/portal-secret
QUEUED=0
if kiosk-app demo --help 2>/dev/null | grep -q -- --portal-offline; then
    if as_kiosk kiosk-app demo --headless --portal-offline --out "$QUEUE_DIR" >"$OUT/queue.log" 2>&1 &&
        queued_ids >"$WORK/queued-before.txt" && [ -s "$WORK/queued-before.txt" ]; then
        QUEUED=1
        ok "$(wc -l <"$WORK/queued-before.txt") applications are queued before the upgrade"
    else
        cat "$OUT/queue.log" >&2
        fail "kiosk-app demo --headless --portal-offline leaves applications queued"
    fi
else
    skip "queued applications across the upgrade: kiosk-app has no 'demo --portal-offline' to queue them"
fi
start_session version-n
check_session_up version-n
# The outbox version N's session opened in the data folder (empty: nobody used it).
OUTBOX=/var/lib/kiosk/outbox.sqlite
outbox_rows() {
    as_kiosk sqlite3 -readonly "$OUTBOX" "SELECT (SELECT count(*) FROM submissions) || ' ' || (SELECT count(*) FROM receipts);"
}
check "version N's session created its outbox in /var/lib/kiosk" test -f "$OUTBOX"
outbox_rows >"$WORK/outbox-before.txt" 2>/dev/null || true
outbox_unchanged() {
    test "$(as_kiosk sqlite3 -readonly "$OUTBOX" 'PRAGMA integrity_check;')" = ok &&
        test "$(outbox_rows)" = "$(cat "$WORK/outbox-before.txt")"
}

step "upgrading to $PKG $NEW_DEB_VERSION while the session runs"
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$NEW_DEB" >>"$OUT/apt.log" 2>&1; then
    ok "apt-get upgrades the package"
else
    tail -30 "$OUT/apt.log" >&2
    fail "apt-get install $NEW_DEB (upgrade)"
    exit 1
fi
# What restart-after-upgrade does under systemd: stop the old session, start the new one.
if stop_session; then ok "version N's session stops cleanly (exit 0) after the upgrade"; else
    tail -20 "$SESSION_DIR/output.log" >&2
    fail "version N's session stops cleanly (exit 0) after the upgrade"
fi
check "the admin's kiosk.toml survives the upgrade" \
    grep -qx "# changed by the admin (upgrade test)" /etc/kiosk/kiosk.toml
check "the portal secret survives the upgrade" \
    test "$(cat /etc/kiosk/credentials/portal-secret)" = admin-secret
check_mode "$OUTBOX" 600 kiosk kiosk
check "the outbox survives the upgrade with the same rows and passes integrity_check" outbox_unchanged
if [ "$QUEUED" -eq 1 ]; then
    queued_ids >"$WORK/queued-after.txt" || true
    check "every queued application is still queued after the upgrade" \
        cmp -s "$WORK/queued-before.txt" "$WORK/queued-after.txt"
    check "the outbox is intact (SQLite integrity_check)" \
        test "$(as_kiosk sqlite3 -readonly "$QUEUE_DIR/outbox.sqlite" "PRAGMA integrity_check;")" = ok
fi
check_installed "$NEW_DEB_VERSION"

step "the kiosk session of version N+1, headless"
start_session version-n-plus-1
check_session_up version-n-plus-1
if stop_session; then ok "the session stops cleanly (exit 0): ExecStop, then SIGTERM"; else
    tail -20 "$SESSION_DIR/output.log" >&2
    fail "the session stops cleanly (exit 0): ExecStop, then SIGTERM"
fi

# fontconfig's cache names the folders it indexed: the kiosk's, not the system's.
check "the session indexed only the shipped fonts (fontconfig's cache in /var/cache/kiosk)" \
    sh -c "grep -rqa /usr/share/buergerkiosk/fonts /var/cache/kiosk/fontconfig \
        && ! grep -rqa /usr/share/fonts/ /var/cache/kiosk/fontconfig \
        && ! grep -q 'Fontconfig error' '$OUT/session-version-n-plus-1.log'"

step "purging $PKG"
kiosk-display-rotation 0 >/dev/null
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$PKG" >>"$OUT/apt.log" 2>&1; then
    ok "apt-get purge removes the package"
else
    tail -30 "$OUT/apt.log" >&2
    fail "apt-get purge $PKG"
fi
check "purge removes the binaries, the unit and /etc/kiosk" \
    sh -c "! test -e /usr/bin/kiosk-app -o -e $UNIT -o -e /etc/kiosk"
check "purge removes the enablement symlink" \
    sh -c "! test -L /etc/systemd/system/multi-user.target.wants/kiosk.service"
check "purge unmasks Ctrl+Alt+Del again" sh -c "! test -L /etc/systemd/system/ctrl-alt-del.target"
check "purge keeps /var/lib/kiosk (it may hold undelivered applications)" test -d /var/lib/kiosk
check "purge removes fontconfig's cache /var/cache/kiosk" sh -c "! test -e /var/cache/kiosk"
cleanup_install

echo "packaging tests took ${SECONDS}s; artefacts in $OUT"
echo "packaging: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
