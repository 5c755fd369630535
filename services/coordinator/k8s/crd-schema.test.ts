import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateAgainstCrd, toJsonSchema } from './crd-schema.js';
import { ManifestInvalidError, UnsupportedSchemaError } from '../errors.js';

const crd = parse(readFileSync(new URL('../../../../helm/encourage/crds/experiments.encourage.dev.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
const minimal = () => ({ apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', metadata: { name: 'x', namespace: 'default' }, spec: { workers: { replicas: 2 } } });

/** A throws-assertion that checks the error class, the named field and the message. */
function rejects(obj: unknown, path: string, problem: RegExp, c: Record<string, unknown> = crd): ManifestInvalidError {
  try {
    validateAgainstCrd(c, obj);
  } catch (err) {
    assert.ok(err instanceof ManifestInvalidError, `expected ManifestInvalidError, got ${String(err)}`);
    assert.equal(err.path, path, err.message);
    assert.match(err.problem, problem, err.message);
    assert.ok(err.message.includes(path), err.message);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(obj)}; expected ${path} to be rejected`);
}

test('a minimal Experiment gets the schema defaults, as the API server would apply them', () => {
  const input = minimal();
  const out = validateAgainstCrd(crd, input) as { spec: Record<string, any> };
  assert.deepEqual(input.spec, { workers: { replicas: 2 } }, 'the input is not modified');
  assert.equal(out.spec['model'], 'resnet18');
  assert.deepEqual(out.spec['optimizer'], { lr: 0.1, momentum: 0.9, weightDecay: 0.0005, nesterov: false, lrScaling: 'none', lrReferenceBatch: 128 });
  assert.deepEqual(out.spec['schedule'], { kind: 'cosine', warmupEpochs: 0 });
  assert.deepEqual(out.spec['runPolicy'], { backoffLimit: 3, cleanPodPolicy: 'Running' });
  assert.deepEqual(out.spec['dataset'], { source: 'cifar10' });
  assert.deepEqual(out.spec['metrics'], { highConfidenceThreshold: 0.5, paramGradEverySteps: 50 });
  assert.equal(out.spec['epochs'], 200);
  assert.equal(out.spec['workers'].gpusPerPod, 0);
  assert.equal(out.spec['workers'].procsPerPod, undefined, 'no static default: unset means one process per GPU');
  assert.equal(out.spec['loss'], undefined);
});

test('bad enums, out-of-range numbers, wrong types and unknown fields are rejected naming the field', () => {
  const with_ = (patch: (s: any) => void) => {
    const o = minimal() as any;
    patch(o.spec);
    return o;
  };
  rejects(with_((s) => (s.model = 'resnet99')), 'spec.model', /must be one of "resnet18"/);
  rejects(with_((s) => (s.optimizer = { momentum: 1 })), 'spec.optimizer.momentum', /must be < 1/);
  rejects(with_((s) => (s.optimizer = { lr: 0 })), 'spec.optimizer.lr', /must be > 0/);
  rejects(with_((s) => (s.loss = { options: { gamma: 0 } })), 'spec.loss.options.gamma', /must be > 0/);
  rejects(with_((s) => (s.loss = { options: { logEnd: 1.5 } })), 'spec.loss.options.logEnd', /must be <= 1/);
  rejects(with_((s) => (s.workers.replicas = 0)), 'spec.workers.replicas', /must be >= 1/);
  rejects(with_((s) => (s.epochs = 2.5)), 'spec.epochs', /must be integer/);
  rejects(with_((s) => (s.metrics = { confidenceEdges: [0, 1.2] })), 'spec.metrics.confidenceEdges[1]', /must be <= 1/);
  rejects(with_((s) => (s.optimizer = { momentm: 0.9 })), 'spec.optimizer.momentm', /unknown field/);
  rejects(with_((s) => (s.workers = {})), 'spec.workers.replicas', /required field missing/);
  rejects(with_((s) => (s.workers.nodeSelector = { gpu: true })), 'spec.workers.nodeSelector.gpu', /must be string/);
  rejects(with_((s) => (s.runPolicy = { cleanPodPolicy: 'Some' })), 'spec.runPolicy.cleanPodPolicy', /"None", "Running", "All"/);
  const err = rejects({ ...minimal(), specs: {} }, 'specs', /unknown field/);
  assert.equal(err.object, 'Experiment default/x');
  rejects({ ...minimal(), spec: undefined }, 'spec', /required|must be object/, { ...crd, spec: { ...(crd['spec'] as object), versions: [{ name: 'v1alpha1', served: true, schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object' } } } } }] } });
});

test('nullable, free-form and embedded fields follow the Kubernetes extensions', () => {
  const o = minimal() as any;
  o.spec.loss = { preset: 'el', options: { bonusAbrupt: null, schedule: null } };
  o.spec.workers.resources = { limits: { 'nvidia.com/gpu': 1, memory: '16Gi' }, anything: { goes: true } };
  o.spec.workers.tolerations = [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }];
  validateAgainstCrd(crd, o);
  o.spec.loss.options.schedule = { kind: 'linear' };
  rejects(o, 'spec.loss.options.schedule.maxEpoch', /required field missing/);
});

test('status: conditions are a map keyed by type (no duplicates), times are RFC 3339', () => {
  const o = minimal() as any;
  o.status = { phase: 'Running', conditions: [{ type: 'Created', status: 'True' }, { type: 'Running', status: 'True', lastTransitionTime: '2025-01-02T03:04:05Z' }] };
  validateAgainstCrd(crd, o);
  o.status.conditions.push({ type: 'Created', status: 'False' });
  rejects(o, 'status.conditions', /duplicate entries for the map keys \["type"\]/);
  o.status.conditions.pop();
  o.status.startTime = 'yesterday';
  rejects(o, 'status.startTime', /must match format "date-time"/);
});

test('the object must belong to the CRD: group, kind and a DNS-subdomain name', () => {
  rejects({ ...minimal(), apiVersion: 'other.dev/v1alpha1' }, 'apiVersion', /encourage\.dev/);
  rejects({ ...minimal(), kind: 'Experimnt' }, 'kind', /must be Experiment/);
  rejects({ ...minimal(), metadata: { name: 'Bad_Name' } }, 'metadata.name', /must match pattern/);
  assert.throws(() => validateAgainstCrd(crd, { ...minimal(), apiVersion: 'encourage.dev/v9' }), /no served version v9/);
});

test('the OpenAPI → JSON Schema translation: exclusive bounds, nullable enums, int-or-string, list sets; CEL is refused', () => {
  assert.deepEqual(toJsonSchema({ type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1 }, 't'), { type: 'number', exclusiveMinimum: 0, maximum: 1 });
  assert.deepEqual(toJsonSchema({ type: 'string', enum: ['a'], nullable: true }, 't'), { type: ['string', 'null'], enum: ['a', null] });
  assert.deepEqual(toJsonSchema({ 'x-kubernetes-int-or-string': true }, 't'), { anyOf: [{ type: 'integer' }, { type: 'string' }] });
  assert.deepEqual(toJsonSchema({ type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } }, 't'), { type: 'array', uniqueItems: true, items: { type: 'string' } });
  assert.deepEqual(toJsonSchema({ type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true }, 't'), { type: 'object', required: ['apiVersion', 'kind'] });
  assert.throws(() => toJsonSchema({ type: 'object', properties: { a: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self > 0' }] } } }, 'things.example.com'), (err: unknown) => err instanceof UnsupportedSchemaError && err.path === 'a' && /x-kubernetes-validations/.test(err.message));
});
