/**
 * The static Kubernetes deliverables, checked without a cluster or helm: every file in k8s/
 * validates (built-in kinds against the Kubernetes OpenAPI schemas, Experiments against the
 * CRD), the CRD matches the contract (docs/kubernetes.md), and the plain manifests stay in sync
 * with the Helm chart. scripts/check-chart.sh adds the full `helm template` diff where helm is
 * installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readManifests, objectLabel, type ManifestDocument } from './yaml-documents.js';
import { validateAgainstCrd, validateK8sObject } from './manifest-validation.js';
import { GENERATED_HEADER } from './helm-output.js';
import { ManifestInvalidError } from '../errors.js';
import { BACKEND_REQUESTS, MODEL_NAMES } from '../../core/training/names.js';
import { resolveExperimentSpec } from '../operator/experiment-spec.js';
import type { Experiment } from '../operator/experiment-types.js';
import type { BuildSettings } from '../operator/object-meta.js';
import { DEFAULT_GPU_IMAGE, DEFAULT_IMAGE } from '../operator/operator-config.js';
import { buildWorkerPod } from '../operator/worker-objects.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CHART = join(ROOT, 'helm/encourage');
const CRD_FILE = 'experiments.encourage.dev.yaml';
const crd = parse(readFileSync(join(CHART, 'crds', CRD_FILE), 'utf8')) as Record<string, any>;
const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const BUILD: BuildSettings = { image: DEFAULT_IMAGE, gpuImage: DEFAULT_GPU_IMAGE, defaultBackend: 'auto', coordinatorServiceAccount: 'encourage-coordinator', bindPodIp: false, tls: null };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []));
}
async function docsOf(dir: string): Promise<ManifestDocument[]> {
  return (await Promise.all(yamlFiles(join(ROOT, dir)).sort().map(readManifests))).flat();
}

test('every object of every file in k8s/ validates (Kubernetes OpenAPI schemas; Experiments against the CRD)', async () => {
  const docs = await docsOf('k8s');
  const files = new Set(docs.map((d) => relative(ROOT, d.file)));
  for (const dir of ['k8s/crd', 'k8s/operator', 'k8s/examples']) assert.ok([...files].some((f) => f.startsWith(dir)), `no manifests in ${dir}`);
  for (const d of docs) await validateK8sObject(d.object, { crds: [crd], source: `${relative(ROOT, d.file)}#${d.index}` });
  assert.ok(docs.length >= 20, `only ${docs.length} objects`);
});

test('the CRD copies are byte-identical and the CRD has the contract\'s names, subresources and columns', () => {
  assert.equal(readFileSync(join(ROOT, 'k8s/crd', CRD_FILE), 'utf8'), readFileSync(join(CHART, 'crds', CRD_FILE), 'utf8'), `k8s/crd/${CRD_FILE} must be a copy of helm/encourage/crds/${CRD_FILE}`);
  const spec = crd['spec'];
  assert.equal(spec.group, 'encourage.dev');
  assert.equal(spec.scope, 'Namespaced');
  assert.deepEqual(spec.names, { kind: 'Experiment', listKind: 'ExperimentList', plural: 'experiments', singular: 'experiment', shortNames: ['exp'] });
  const [v] = spec.versions;
  assert.equal(v.name, 'v1alpha1');
  assert.deepEqual(v.subresources, { status: {}, scale: { specReplicasPath: '.spec.workers.replicas', statusReplicasPath: '.status.workersReady', labelSelectorPath: '.status.selector' } });
  assert.deepEqual(v.additionalPrinterColumns.map((c: any) => [c.name, c.jsonPath, c.type]), [
    ['Phase', '.status.phase', 'string'],
    ['Ready', '.status.ready', 'string'],
    ['Epoch', '.status.epoch', 'integer'],
    ['Test-Acc', '.status.testAccuracy', 'number'],
    ['Age', '.metadata.creationTimestamp', 'date'],
  ]);
  // Each printer column and scale path names a field of the schema.
  const props = v.schema.openAPIV3Schema.properties;
  for (const path of [...v.additionalPrinterColumns.map((c: any) => c.jsonPath), ...Object.values(v.subresources.scale)]) {
    const [, top, ...rest] = String(path).split('.');
    if (top === 'metadata') continue;
    let node = props[top!];
    for (const p of rest) node = node?.properties?.[p];
    assert.ok(node !== undefined, `${path} is not in the schema`);
  }
  // Structural: every schema node has a type, except free-form int-or-string nodes.
  const walk = (node: any, path: string): void => {
    assert.ok(node.type !== undefined || node['x-kubernetes-int-or-string'] === true, `${path} has no type`);
    for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${k}`);
    if (node.items) walk(node.items, `${path}[]`);
    if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}.*`);
  };
  walk(v.schema.openAPIV3Schema, '(root)');
  // The enums are the training code's own names: a backend or model it knows is one the API server admits.
  const specProps = props.spec.properties;
  assert.deepEqual(specProps.backend.enum, [...BACKEND_REQUESTS], 'spec.backend enum = core/training/names.ts BACKEND_REQUESTS');
  assert.deepEqual(specProps.model.enum, [...MODEL_NAMES], 'spec.model enum = core/training/names.ts MODEL_NAMES');
  // No static default for the backend: an unset one is the operator's --default-backend.
  assert.equal(specProps.backend.default, undefined, 'spec.backend has no CRD default (the operator applies --default-backend)');
});

test('every example Experiment validates against the CRD; bad enums, ranges and unknown fields are rejected naming the field', async () => {
  const experiments = (await docsOf('k8s/examples')).filter((d) => d.object['kind'] === 'Experiment');
  assert.deepEqual(experiments.map((d) => (d.object['metadata'] as { name: string }).name).sort(), ['ab-ce', 'ab-el', 'ce-baseline', 'el-le075', 'el-webgpu', 'smoke-cpu']);
  for (const d of experiments) {
    const defaulted = validateAgainstCrd(crd, d.object) as any;
    assert.equal(defaulted.spec.optimizer.nesterov, false, 'defaults applied');
    const mutations: [string, (s: any) => void, RegExp][] = [
      ['spec.loss.preset', (s) => (s.loss = { preset: 'focal' }), /must be one of/],
      ['spec.optimizer.momentum', (s) => (s.optimizer = { ...s.optimizer, momentum: 1.5 }), /must be < 1/],
      ['spec.workers.replicas', (s) => (s.workers.replicas = 0), /must be >= 1/],
      ['spec.workers.gpusPerPods', (s) => (s.workers.gpusPerPods = 1), /unknown field/],
    ];
    for (const [path, mutate, problem] of mutations) {
      const bad = structuredClone(d.object) as any;
      mutate(bad.spec);
      assert.throws(() => validateAgainstCrd(crd, bad), (err: unknown) => err instanceof ManifestInvalidError && err.path === path && problem.test(err.problem) && err.message.startsWith(`Experiment ${bad.metadata.name}: ${path}`), `${objectLabel(d.object)}: ${path}`);
    }
  }
  const byName = new Map(experiments.map((d) => [(d.object['metadata'] as { name: string }).name, d.object as any]));
  assert.equal(byName.get('el-le075').spec.loss.options.logEnd, 0.75);
  assert.equal(byName.get('ce-baseline').spec.loss.preset, 'ce');
  assert.deepEqual([byName.get('el-webgpu').spec.backend, byName.get('el-webgpu').spec.workers.gpusPerPod], ['webgpu', 1], 'the GPU example on webgpu, one GPU per pod');
});

test('every example Experiment, as the API server stores it, passes the operator\'s own validation and builds its pods', async () => {
  const experiments = (await docsOf('k8s/examples')).filter((x) => x.object['kind'] === 'Experiment');
  for (const d of experiments) {
    const stored = validateAgainstCrd(crd, { ...d.object, metadata: { ...(d.object['metadata'] as object), namespace: 'default', uid: 'u' } }) as unknown as Experiment;
    const r = resolveExperimentSpec(stored);
    const worker = buildWorkerPod(r, 0, BUILD);
    const env = new Map((worker.spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    if (r.train.backend === 'webgpu') assert.equal(env.get('NVIDIA_DRIVER_CAPABILITIES'), 'compute,utility,graphics', `${objectLabel(d.object)}: the Vulkan ICD`);
    if (r.workers.gpusPerPod > 0) assert.equal(worker.spec!.containers[0]!.resources?.limits?.['nvidia.com/gpu'], String(r.workers.gpusPerPod), objectLabel(d.object));
  }
});

test('the A/B pair differs only in the loss (identical seed, data, model, recipe, workers)', async () => {
  const pair = (await readManifests(join(ROOT, 'k8s/examples/ab-pair.yaml'))).map((d) => d.object as any);
  assert.equal(pair.length, 2);
  const [a, b] = pair.map((o) => validateAgainstCrd(crd, o) as any);
  assert.deepEqual(a.metadata.labels, b.metadata.labels);
  assert.notDeepEqual(a.spec.loss, b.spec.loss);
  const rest = (o: any) => ({ ...o.spec, loss: undefined, checkpoint: { ...o.spec.checkpoint, pvc: undefined } });
  assert.deepEqual(rest(a), rest(b));
  assert.notEqual(a.spec.checkpoint.pvc.claimName, b.spec.checkpoint.pvc.claimName, 'each run keeps its own checkpoints');
  assert.equal(a.spec.seed, b.spec.seed);
});

test('every PVC an example references is created by k8s/examples/checkpoint-pvcs.yaml; images carry the release version', async () => {
  const docs = await docsOf('k8s/examples');
  const claims = new Set(docs.filter((d) => d.object['kind'] === 'PersistentVolumeClaim').map((d) => (d.object['metadata'] as { name: string }).name));
  assert.equal(chart.appVersion, pkg.version, 'Chart appVersion = package.json version');
  assert.equal(chart.version, pkg.version, 'chart version = package.json version');
  for (const d of docs.filter((x) => x.object['kind'] === 'Experiment')) {
    const spec = d.object['spec'] as any;
    for (const claim of [spec.checkpoint?.pvc?.claimName, spec.dataset?.pvc?.claimName].filter((c) => c !== undefined)) assert.ok(claims.has(claim), `${objectLabel(d.object)} needs PVC ${claim}`);
    if (spec.workers.image !== undefined) assert.match(spec.workers.image, new RegExp(`^ghcr\\.io/encourage/encourage(-gpu)?:${chart.appVersion.replace(/\./g, '\\.')}$`));
    if (spec.workers.gpusPerPod > 0) assert.match(spec.workers.image ?? '', /encourage-gpu:/, `${objectLabel(d.object)} uses GPUs: the GPU image`);
  }
});

test('k8s/operator/ is the chart\'s default rendering: one generated file per default template, same kinds, names and version labels', async () => {
  const templatesDir = join(CHART, 'templates');
  // Templates that render nothing by default: capability-gated (Prometheus Operator), gated on a
  // chart file another part of the project ships, or helm test hooks.
  const gated = new Set(['servicemonitor.yaml', 'podmonitor.yaml', 'prometheusrule.yaml', ...(existsSync(join(CHART, 'dashboards/encourage.json')) ? [] : ['grafana-dashboard.yaml'])]);
  const templates = readdirSync(templatesDir).filter((f) => f.endsWith('.yaml'));
  const generated = readdirSync(join(ROOT, 'k8s/operator')).filter((f) => f.endsWith('.yaml') && readFileSync(join(ROOT, 'k8s/operator', f), 'utf8').startsWith(GENERATED_HEADER));
  assert.deepEqual(generated.sort(), templates.filter((t) => !gated.has(t)).sort(), 'run scripts/check-chart.sh --write (needs helm) after changing templates');
  for (const file of generated) {
    const template = readFileSync(join(templatesDir, file), 'utf8');
    for (const d of await readManifests(join(ROOT, 'k8s/operator', file))) {
      const label = `${file}: ${objectLabel(d.object)}`;
      assert.ok(template.includes(`kind: ${String(d.object['kind'])}\n`), `${label}: template has no kind ${String(d.object['kind'])}`);
      const meta = d.object['metadata'] as { name: string; namespace?: string; labels: Record<string, string> };
      const nameLines = [...template.matchAll(/^ {2}name: (.+)$/gm)].map((m) => m[1]!.trim());
      assert.ok(nameLines.some((n) => n === meta.name || (n.includes('include "encourage.') && meta.name.startsWith('encourage'))), `${label}: name not produced by the template (${nameLines.join(', ')})`);
      assert.equal(meta.labels['app.kubernetes.io/version'], chart.appVersion, `${label}: stale version label`);
      assert.equal(meta.labels['helm.sh/chart'], `encourage-${chart.version}`, `${label}: stale chart label`);
      assert.equal(meta.labels['app.kubernetes.io/managed-by'], 'kubectl', label);
      if (d.object['kind'] !== 'ClusterRole' && d.object['kind'] !== 'ClusterRoleBinding') assert.ok(meta.namespace !== undefined, `${label}: namespaced objects carry their namespace`);
    }
  }
});

test('least privilege: the operator and coordinator roles grant exactly the contract\'s rights', async () => {
  const rbac = (await docsOf('k8s/operator')).map((d) => d.object as any);
  const rules = (kind: string) => rbac.find((o) => o.kind === kind)!.rules.flatMap((r: any) => r.resources.map((res: string) => `${r.apiGroups.join(',') || 'core'}/${res}: ${[...r.verbs].sort().join(',')}`)).sort();
  assert.deepEqual(rules('ClusterRole'), [
    'core/events: create,patch',
    'core/pods: create,delete,get,list,watch',
    'core/secrets: create,delete,get,list,watch',
    'core/services: create,delete,get,list,watch',
    'encourage.dev/experiments/finalizers: update',
    'encourage.dev/experiments/status: get,patch,update',
    'encourage.dev/experiments: get,list,patch,update,watch',
  ]);
  assert.deepEqual(rules('Role'), ['encourage.dev/experiments/status: get,patch']);
  const binding = rbac.find((o) => o.kind === 'RoleBinding');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'encourage-coordinator', namespace: binding.metadata.namespace }]);
  const deployment = rbac.find((o) => o.kind === 'Deployment');
  const pod = deployment.spec.template.spec;
  assert.equal(pod.serviceAccountName, 'encourage-operator');
  assert.deepEqual(pod.containers[0].args, ['encourage', 'operator', '--default-backend=auto'], 'the chart\'s experimentDefaults.backend reaches the operator');
  assert.equal(pod.containers[0].command, undefined, 'command would replace the image\'s tini ENTRYPOINT');
  assert.deepEqual(pod.containers[0].ports.map((p: any) => [p.name, p.containerPort]), [['grpc', 7070], ['metrics', 9090]]);
  assert.ok(pod.securityContext.runAsNonRoot);
});
