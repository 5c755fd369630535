#!/usr/bin/env bash
# Check the Helm chart helm/encourage when helm is installed:
#   1. helm lint --strict (default values, and every optional feature switched on);
#   2. values.schema.json rejects bad values (tls.enabled without tls.secretName, an unknown
#      experimentDefaults.backend);
#   3. helm template | schema validation of every rendered object (dist/scripts/validate-manifests.js:
#      Kubernetes OpenAPI schemas, Experiments against the CRD), for the default values and with the
#      Prometheus Operator APIs, TLS, the Grafana dashboard and a webgpu default backend switched on;
#   4. the default rendering (release "encourage", namespace "encourage") diffed against the plain
#      manifests in k8s/operator/ — `--write` regenerates them instead.
# Without helm it says so plainly, lists what it skipped and exits 0; the checks that need no helm
# run in `npm test` (services/coordinator/k8s/k8s-manifests.test.ts).
# Usage: scripts/check-chart.sh [--write]      (HELM=/path/to/helm to use another binary)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
helm="${HELM:-helm}"
write=0
[[ "${1:-}" == "--write" ]] && write=1

if ! command -v "$helm" >/dev/null 2>&1; then
  cat <<MSG
check-chart: helm is not installed (looked for "$helm" on PATH; set HELM=/path/to/helm) — SKIPPED:
  - helm lint --strict helm/encourage
  - values.schema.json negative checks
  - helm template | schema validation (default values; monitoring, TLS and dashboard enabled)
  - diff of the rendered chart against k8s/operator/
Still checked by npm test without helm: k8s/ validates, CRD copies identical, k8s/operator/ matches the chart's templates, versions and RBAC.
MSG
  exit 0
fi

[[ -f dist/scripts/validate-manifests.js ]] || npm run -s build
chart=helm/encourage
crd="$chart/crds/experiments.encourage.dev.yaml"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "check-chart: $("$helm" version --short 2>/dev/null || "$helm" version)"

# Everything optional switched on. The dashboard and the rules are shipped by other parts of the
# project: when they are not there yet, a throwaway chart copy gets stand-ins so the templates
# that use them are still rendered and validated.
full_chart="$tmp/encourage"
cp -R "$chart" "$full_chart"
if [[ ! -f "$chart/dashboards/encourage.json" ]]; then
  echo "check-chart: $chart/dashboards/encourage.json is missing: a stand-in is used for the full rendering"
  mkdir -p "$full_chart/dashboards" && echo '{"title": "stand-in", "panels": []}' >"$full_chart/dashboards/encourage.json"
fi
if [[ ! -f "$chart/prometheus/rules.yaml" ]]; then
  echo "check-chart: $chart/prometheus/rules.yaml is missing: a stand-in is used for the full rendering"
  mkdir -p "$full_chart/prometheus" && printf 'groups:\n  - name: stand-in\n    rules: []\n' >"$full_chart/prometheus/rules.yaml"
fi
full_values=(--set tls.enabled=true --set tls.secretName=encourage-tls --set 'experimentNamespaces={default,research}'
  --set 'imagePullSecrets[0].name=registry' --set experimentDefaults.backend=webgpu)
# helm lint has no --api-versions: the Prometheus Operator APIs only apply to helm template.
monitoring_apis=(--api-versions monitoring.coreos.com/v1/ServiceMonitor --api-versions monitoring.coreos.com/v1/PodMonitor
  --api-versions monitoring.coreos.com/v1/PrometheusRule)

echo "check-chart: helm lint --strict"
"$helm" lint --strict "$chart"
"$helm" lint --strict "$full_chart" "${full_values[@]}"

echo "check-chart: values.schema.json rejects tls.enabled without tls.secretName"
if "$helm" template encourage "$chart" --set tls.enabled=true >"$tmp/bad.yaml" 2>"$tmp/bad.err"; then
  echo "check-chart: FAILED: tls.enabled=true without tls.secretName rendered" >&2
  exit 1
fi
echo "check-chart: values.schema.json rejects an unknown experimentDefaults.backend"
if "$helm" template encourage "$chart" --set experimentDefaults.backend=cuda >"$tmp/bad.yaml" 2>"$tmp/bad.err"; then
  echo "check-chart: FAILED: experimentDefaults.backend=cuda rendered" >&2
  exit 1
fi
grep -q 'experimentDefaults/backend' "$tmp/bad.err" || { echo "check-chart: FAILED: the schema error does not name experimentDefaults/backend:" >&2; cat "$tmp/bad.err" >&2; exit 1; }

echo "check-chart: helm template | validate (default values)"
"$helm" template encourage "$chart" -n encourage >"$tmp/default.yaml"
node dist/scripts/validate-manifests.js --crd "$crd" "$tmp/default.yaml"

echo "check-chart: helm template | validate (monitoring, TLS, dashboard, two experiment namespaces)"
"$helm" template encourage "$full_chart" -n encourage "${full_values[@]}" "${monitoring_apis[@]}" >"$tmp/full.yaml"
# No schema for the Prometheus Operator kinds is installed (@kubernetes-models/prometheus-operator
# would provide one): they are listed as skipped.
node dist/scripts/validate-manifests.js --crd "$crd" --skip-group monitoring.coreos.com "$tmp/full.yaml"
for kind in ServiceMonitor PodMonitor PrometheusRule; do
  grep -q "^kind: $kind$" "$tmp/full.yaml" || { echo "check-chart: FAILED: no $kind rendered with the monitoring APIs" >&2; exit 1; }
done
grep -q '^    grafana_dashboard: "1"$' "$tmp/full.yaml" || { echo "check-chart: FAILED: no dashboard ConfigMap" >&2; exit 1; }
grep -q '^            - --default-backend=webgpu$' "$tmp/full.yaml" || { echo "check-chart: FAILED: experimentDefaults.backend=webgpu did not reach the operator's --default-backend" >&2; exit 1; }

if [[ $write -eq 1 ]]; then
  echo "check-chart: writing k8s/operator/ from the default rendering"
  node dist/scripts/sync-k8s-manifests.js --write <"$tmp/default.yaml"
else
  echo "check-chart: diff of the default rendering against k8s/operator/"
  node dist/scripts/sync-k8s-manifests.js <"$tmp/default.yaml" || {
    echo "check-chart: FAILED: k8s/operator/ is out of date: run scripts/check-chart.sh --write" >&2
    exit 1
  }
fi
echo "check-chart: OK"
