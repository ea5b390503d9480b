#!/usr/bin/env bash
# Creates a SoftHSM2 token in a fresh temporary directory and prints the environment to use it:
#   eval "$(scripts/softhsm-init.sh [label] [user-pin] [so-pin])"
# SOFTHSM2_CONF points at a private config whose tokendir is the temp dir, so nothing touches the
# system token store (/var/lib/softhsm). Needs: softhsm2 (Debian/Ubuntu package `softhsm2`).
set -euo pipefail
label="${1:-omt-test}"
pin="${2:-1234}"
so_pin="${3:-12345678}"
module="${OMT_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
command -v softhsm2-util >/dev/null || { echo "softhsm2-util not found (apt-get install softhsm2)" >&2; exit 1; }
[ -e "$module" ] || { echo "PKCS#11 module $module not found" >&2; exit 1; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/omt-softhsm.XXXXXX")"
mkdir -p "$dir/tokens"
cat >"$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >&2
printf 'export SOFTHSM2_CONF=%q\n' "$dir/softhsm2.conf"
printf 'export OMT_PKCS11_MODULE=%q\n' "$module"
printf 'export OMT_PKCS11_TOKEN_LABEL=%q\n' "$label"
printf 'export OMT_PKCS11_PIN=%q\n' "$pin"
printf '# remove with: rm -rf %q\n' "$dir"
