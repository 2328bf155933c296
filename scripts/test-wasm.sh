#!/usr/bin/env bash
# Run the wasm32 test suite (crate `arbitre-wasm-tests`) in headless Chromium.
#
# Usage: scripts/test-wasm.sh [extra `cargo test` args, e.g. `--release` or `-- --nocapture`]
#
# Idempotent and CI-ready: it installs what is missing (wasm32 target,
# wasm-bindgen-cli at the exact Cargo.lock version, Debian chromium +
# chromium-driver when running as root), then runs
#   cargo test -p arbitre-wasm-tests --target wasm32-unknown-unknown
# through wasm-bindgen-test-runner + chromedriver with a fresh Chromium
# profile, and exits non-zero if the build or any test fails, if no test ran
# at all, or if the whole thing exceeds $WASM_TEST_TIMEOUT.
#
# Environment knobs (all optional):
#   WASM_TEST_TIMEOUT          overall limit in seconds, build included (default 1800)
#   WASM_BINDGEN_TEST_TIMEOUT  limit per test binary inside the browser (default 600;
#                              wasm-bindgen's own default of 20 s is too short for
#                              running a model in a debug build)
#   CHROMEDRIVER               chromedriver binary (default: /usr/bin/chromedriver or PATH)
#   CHROME_BIN                 Chromium binary (default: /usr/bin/chromium or PATH)
#   WASM_TEST_EXTRA_CHROME_ARGS extra space-separated Chromium switches
#   WASM_TEST_KEEP_TMP=1       keep the temp dir (profile, webdriver.json, chromedriver.log)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=wasm32-unknown-unknown
PKG=arbitre-wasm-tests
WASM_TEST_TIMEOUT="${WASM_TEST_TIMEOUT:-1800}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"

log() { printf '[test-wasm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- 1. Rust target -----------------------------------------------------------
if command -v rustup >/dev/null 2>&1; then
    if ! rustup target list --installed | grep -qx "$TARGET"; then
        log "installing rust target $TARGET"
        rustup target add "$TARGET"
    fi
fi

# --- 2. wasm-bindgen-cli at the exact Cargo.lock version ----------------------
[ -f Cargo.lock ] || cargo generate-lockfile
WB_VERSION="$(awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = "wasm-bindgen"$/ { name = "wasm-bindgen"; next }
    name == "wasm-bindgen" && /^version = / { gsub(/version = |"/, ""); print; exit }
' Cargo.lock)"
[ -n "$WB_VERSION" ] || die "wasm-bindgen not found in Cargo.lock"

installed_wb=""
if command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
    installed_wb="$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')"
fi
if [ "$installed_wb" != "$WB_VERSION" ]; then
    log "installing wasm-bindgen-cli $WB_VERSION (found: ${installed_wb:-none})"
    if ! cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked; then
        # --locked can fail when the registry (e.g. a lagging mirror) lacks a
        # crate version pinned in wasm-bindgen-cli's lockfile.
        log "WARNING: 'cargo install --locked' failed; retrying without --locked"
        cargo install wasm-bindgen-cli --version "$WB_VERSION"
    fi
    installed_wb="$(wasm-bindgen-test-runner --version | awk '{print $2}')"
    [ "$installed_wb" = "$WB_VERSION" ] \
        || die "wasm-bindgen-test-runner is $installed_wb, Cargo.lock wants $WB_VERSION (check PATH)"
fi

# --- 3. Chromium + chromedriver ----------------------------------------------
find_bin() { # preferred-path fallback-names...
    local p="$1"; shift
    if [ -x "$p" ]; then echo "$p"; return 0; fi
    local n
    for n in "$@"; do
        if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return 0; fi
    done
    return 1
}
CHROME_BIN="${CHROME_BIN:-$(find_bin /usr/bin/chromium chromium chromium-browser || true)}"
CHROMEDRIVER="${CHROMEDRIVER:-$(find_bin /usr/bin/chromedriver chromedriver || true)}"
if [ -z "$CHROME_BIN" ] || [ -z "$CHROMEDRIVER" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing chromium + chromium-driver with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
        CHROME_BIN="$(find_bin /usr/bin/chromium chromium)"
        CHROMEDRIVER="$(find_bin /usr/bin/chromedriver chromedriver)"
    else
        die "chromium and/or chromedriver missing; install them (Debian: apt-get install chromium chromium-driver)"
    fi
fi
export CHROMEDRIVER
chrome_ver="$("$CHROME_BIN" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n1)"
driver_ver="$("$CHROMEDRIVER" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n1)"
log "chromium $chrome_ver ($CHROME_BIN), chromedriver $driver_ver ($CHROMEDRIVER), wasm-bindgen $WB_VERSION"
[ "${chrome_ver%%.*}" = "${driver_ver%%.*}" ] \
    || die "chromium ($chrome_ver) and chromedriver ($driver_ver) major versions differ"

# --- 4. Fresh profile + webdriver capabilities ---------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/arbitre-wasm-test.XXXXXX")"
# When a test hangs the renderer, wasm-bindgen-test-runner gives up after
# WASM_BINDGEN_TEST_TIMEOUT but cannot close the window, and chromedriver
# leaves Chromium running. Kill whatever is left in timeout's process group.
group_alive() { # pgid: does the group have a live (non-zombie) member?
    if command -v ps >/dev/null 2>&1; then
        ps -eo pgid=,stat= | awk -v pg="$1" '$1 == pg && $2 !~ /^Z/ { f = 1 } END { exit !f }'
    else
        kill -0 -- "-$1" 2>/dev/null
    fi
}
kill_leftovers() {
    local pg
    pg="$(cat "$WORK/pgid" 2>/dev/null)" || return 0
    rm -f "$WORK/pgid"
    [ -n "$pg" ] && group_alive "$pg" || return 0
    log "killing leftover processes (Chromium?) of process group $pg"
    kill -TERM -- "-$pg" 2>/dev/null || true
    for _ in 1 2 3 4 5 6; do group_alive "$pg" || return 0; sleep 0.5; done
    kill -KILL -- "-$pg" 2>/dev/null || true
    for _ in 1 2 3 4 5 6; do group_alive "$pg" || return 0; sleep 0.5; done
}
cleanup() {
    kill_leftovers
    if [ -n "${WASM_TEST_KEEP_TMP:-}" ]; then
        log "kept $WORK"
        return
    fi
    # A dying Chromium may still be writing its profile for a moment.
    for _ in 1 2 3 4 5; do
        rm -rf "$WORK" 2>/dev/null && return
        sleep 1
    done
    log "WARNING: could not remove $WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
PROFILE="$WORK/profile"
mkdir -p "$PROFILE" "$WORK/tmp"

chrome_args=(
    --headless=new --no-sandbox --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-dev-shm-usage --enable-unsafe-webgpu
    "--user-data-dir=$PROFILE"
)
# shellcheck disable=SC2206 # word splitting intended
chrome_args+=(${WASM_TEST_EXTRA_CHROME_ARGS:-})
json_args=""
for a in "${chrome_args[@]}"; do
    a="${a//\\/\\\\}"; a="${a//\"/\\\"}"
    json_args+="${json_args:+, }\"$a\""
done
cat >"$WORK/webdriver.json" <<EOF
{
  "goog:chromeOptions": {
    "binary": "$CHROME_BIN",
    "args": [$json_args]
  }
}
EOF
# wasm-bindgen-test-runner reads capabilities from this file (instead of
# ./webdriver.json in the crate directory).
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$WORK/webdriver.json"
export CHROMEDRIVER_ARGS="--log-path=$WORK/chromedriver.log"

# --- 5. The real-weights models, served to the tests ----------------------------
# tests/real.rs fetches SmolLM2-135M-Instruct and Gemma 3 270M files (scripts/real-models.sh) from the project's
# static server; the address is baked into the test build (ARBITRE_REAL_URL).
MODELS="${ARBITRE_MODELS:-$(bash "$ROOT/scripts/real-models.sh" F32 Q4_0 Q4_K_M)}"
[ -n "${ARBITRE_MODELS:-}" ] || bash "$ROOT/scripts/real-models.sh" --gemma F32 >/dev/null
REAL_PORT="${ARBITRE_REAL_PORT:-18737}"
mkdir -p "$WORK/www"
node "$ROOT/web/serve.mjs" --port "$REAL_PORT" --models "$MODELS" --dist "$WORK/www" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null || true; cleanup' EXIT
export ARBITRE_REAL_URL="http://127.0.0.1:$REAL_PORT/models/"

# --- 6. Build + run -------------------------------------------------------------
log "cargo test -p $PKG --target $TARGET $* (timeout ${WASM_TEST_TIMEOUT}s, per-binary ${WASM_BINDGEN_TEST_TIMEOUT}s)"
start=$(date +%s)
set +e
{
    # `timeout` puts itself and everything it starts (cargo, the runner,
    # chromedriver, Chromium) in a fresh process group whose id is its pid.
    # TMPDIR: chromedriver and Chromium leave org.chromium.Chromium.* dirs in
    # the temp dir when the runner kills chromedriver; keep them in $WORK.
    TMPDIR="$WORK/tmp" timeout --kill-after=30 "$WASM_TEST_TIMEOUT" \
        cargo test -p "$PKG" --target "$TARGET" "$@" 2>&1 &
    echo $! >"$WORK/pgid"
    wait $!
    echo $? >"$WORK/status"
    kill_leftovers
} | tee "$WORK/output.log"
status=$(cat "$WORK/status" 2>/dev/null || echo 1)
set -e
elapsed=$(( $(date +%s) - start ))

passed=$({ grep -aoE '^test result: [a-zA-Z]+\. [0-9]+ passed' "$WORK/output.log" || true; } \
    | awk '{ s += $4 } END { print s + 0 }')

fail() {
    log "FAILED: $* (after ${elapsed}s)"
    # The driver log only helps when the browser side broke (no test summary).
    if [ -s "$WORK/chromedriver.log" ] \
        && ! grep -aq '^test result: ' "$WORK/output.log"; then
        log "chromedriver.log (launch line, warnings, errors):"
        grep -aE 'Launching chrome|SEVERE|WARNING|session not created|cannot find' \
            "$WORK/chromedriver.log" | tail -n 30 >&2 || true
    fi
    exit 1
}
case $status in
    0) ;;
    124 | 137) fail "timed out after ${WASM_TEST_TIMEOUT}s (WASM_TEST_TIMEOUT)" ;;
    *) fail "cargo test exited with status $status" ;;
esac
case "$*" in
    *--no-run*) log "OK: built (--no-run) in ${elapsed}s"; exit 0 ;;
esac
[ "$passed" -gt 0 ] || fail "no test ran (0 passed)"
log "OK: $passed wasm test(s) passed in headless Chromium in ${elapsed}s"
