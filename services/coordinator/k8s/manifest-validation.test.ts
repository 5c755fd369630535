import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateK8sObject } from './manifest-validation.js';
import { findUnknownField, rootModelName } from './known-fields.js';
import { ManifestInvalidError, UnknownKindError } from '../errors.js';

const crd = parse(readFileSync(new URL('../../../../helm/encourage/crds/experiments.encourage.dev.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'op', namespace: 'encourage' },
  spec: {
    selector: { matchLabels: { app: 'op' } },
    template: {
      metadata: { labels: { app: 'op' } },
      spec: { containers: [{ name: 'op', image: 'img:1', ports: [{ name: 'grpc', containerPort: 7070 }], readinessProbe: { grpc: { port: 7070 } } }] },
    },
  },
});

async function rejects(obj: unknown, path: string, problem: RegExp, options = {}): Promise<ManifestInvalidError> {
  try {
    await validateK8sObject(obj, options);
  } catch (err) {
    assert.ok(err instanceof ManifestInvalidError, `expected ManifestInvalidError, got ${String(err)}`);
    assert.equal(err.path, path, err.message);
    assert.match(err.problem, problem, err.message);
    return err;
  }
  assert.fail(`accepted; expected ${path} to be rejected`);
}

test('a valid Deployment passes the Kubernetes schema and the unknown-field check', async () => {
  await validateK8sObject(deployment());
});

test('schema violations name the object and the field path', async () => {
  const d = deployment() as any;
  d.spec.template.spec.containers[0].ports[0].containerPort = 'seventy';
  const err = await rejects(d, 'spec.template.spec.containers[0].ports[0].containerPort', /must be integer/, { source: 'k8s/operator/deployment.yaml#1' });
  assert.match(err.message, /^Deployment encourage\/op \(k8s\/operator\/deployment\.yaml#1\): spec\.template/);
  const e = deployment() as any;
  e.spec.template.spec.restartPolicy = 'Sometimes';
  await rejects(e, 'spec.template.spec.restartPolicy', /allowed values/);
  const f = deployment() as any;
  delete f.spec.selector;
  await rejects(f, 'spec.selector', /required field missing/);
});

test('unknown fields are rejected like kubectl\'s strict field validation', async () => {
  const d = deployment() as any;
  d.spec.template.spec.containers[0].imagePullPolcy = 'Always';
  const err = await rejects(d, 'spec.template.spec.containers[0].imagePullPolcy', /unknown field/);
  assert.equal(err.value, 'Always');
  const labels = deployment() as any;
  labels.metadata.labels = { 'any.key/is-fine': 'yes' };
  labels.metadata.annotations = { note: 'free-form maps are not checked for keys' };
  await validateK8sObject(labels);
  await rejects({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPortt: 8080 }] } }, 'spec.ports[0].targetPortt', /unknown field/);
});

test('custom resources are checked against the CRDs passed in; unknown kinds are an error, never a pass', async () => {
  const exp = { apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', metadata: { name: 'e' }, spec: { workers: { replicas: 1 }, model: 'vgg' } };
  const e = await rejects(exp, 'spec.model', /must be one of/, { crds: [crd], source: 'exp.yaml#0' });
  assert.equal(e.object, 'Experiment e (exp.yaml#0)');
  await assert.rejects(validateK8sObject(exp), (err: unknown) => err instanceof UnknownKindError && /Experiment e/.test(err.message));
  await assert.rejects(validateK8sObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm' } }), UnknownKindError);
  await rejects({ apiVersion: '../../etc', kind: 'Pod', metadata: { name: 'p' } }, 'apiVersion', /group/);
  await rejects({ apiVersion: 'v1', kind: 'pod', metadata: { name: 'p' } }, 'kind', /CamelCase/);
});

test('field lists come from the client-node model of each kind, including group-qualified ones', () => {
  assert.equal(rootModelName('apps/v1', 'Deployment'), 'V1Deployment');
  assert.equal(rootModelName('v1', 'Event'), 'CoreV1Event');
  assert.equal(rootModelName('rbac.authorization.k8s.io/v1', 'ClusterRole'), 'V1ClusterRole');
  assert.equal(rootModelName('v1', 'NoSuchKind'), undefined);
  assert.deepEqual(findUnknownField({ metadata: { name: 'x', nmae: 'y' } }, 'V1ConfigMap'), { path: 'metadata.nmae', value: 'y' });
  assert.equal(findUnknownField({ data: { 'any-key': 'v' }, binaryData: {} }, 'V1ConfigMap'), undefined);
});
