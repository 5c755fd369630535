/**
 * docs/kubernetes.md shows kubectl commands with their outputs: the ones that follow from the
 * manifests must match them — the printer columns, the objects `kubectl apply -f k8s/operator/`
 * creates (in kubectl's order: files sorted, documents in file order), the defaulted spec and the
 * example names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readManifests } from './yaml-documents.js';
import { validateAgainstCrd } from './crd-schema.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs/kubernetes.md'), 'utf8');
const crd = parse(readFileSync(join(ROOT, 'k8s/crd/experiments.encourage.dev.yaml'), 'utf8')) as any;

/** The output lines that follow `$ <command>` in the doc's console blocks, up to the next `$` or fence. */
function outputOf(command: string): string[] {
  const start = doc.indexOf(`$ ${command}\n`);
  assert.ok(start >= 0, `docs/kubernetes.md shows no "$ ${command}"`);
  const lines = doc.slice(start).split('\n').slice(1);
  return lines.slice(0, lines.findIndex((l) => l.startsWith('$ ') || l.startsWith('```')));
}

test('`kubectl get exp` shows the CRD\'s printer columns', () => {
  const columns = ['NAME', ...crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name.toUpperCase())];
  for (const command of ['kubectl get exp', 'kubectl get exp el-le075']) {
    const [header, ...rows] = outputOf(command);
    assert.deepEqual(header!.split(/\s+/), columns, command);
    for (const row of rows) assert.equal(row.split(/\s+/).length, columns.length, `${command}: ${row}`);
  }
});

test('`kubectl apply -f k8s/operator/` lists exactly the objects of k8s/operator/, in kubectl\'s order', async () => {
  const files = readdirSync(join(ROOT, 'k8s/operator')).filter((f) => f.endsWith('.yaml')).sort();
  const objects = (await Promise.all(files.map((f) => readManifests(join(ROOT, 'k8s/operator', f))))).flat().map((d) => d.object as any);
  const expected = objects.map((o) => {
    const group = String(o.apiVersion).includes('/') ? `.${String(o.apiVersion).split('/')[0]}` : '';
    return `${String(o.kind).toLowerCase()}${group}/${o.metadata.name} created`;
  });
  assert.deepEqual(outputOf('kubectl apply -f k8s/operator/'), expected);
  const pvcs = (await readManifests(join(ROOT, 'k8s/examples/checkpoint-pvcs.yaml'))).map((d) => `persistentvolumeclaim/${(d.object as any).metadata.name} created`);
  assert.deepEqual(outputOf('kubectl apply -f k8s/examples/checkpoint-pvcs.yaml'), pvcs);
  const pair = (await readManifests(join(ROOT, 'k8s/examples/ab-pair.yaml'))).map((d) => `experiment.encourage.dev/${(d.object as any).metadata.name} created`);
  assert.deepEqual(outputOf('kubectl apply -f k8s/examples/ab-pair.yaml'), pair);
});

test('the stored spec shown for smoke-cpu is the example with the CRD\'s defaults applied', async () => {
  const [example] = await readManifests(join(ROOT, 'k8s/examples/smoke-cpu.yaml'));
  const block = /`kubectl get exp smoke-cpu -o yaml`\):\n\n```yaml\n([\s\S]*?)```/.exec(doc);
  assert.ok(block !== null, 'the defaulted spec block');
  assert.deepEqual((parse(block[1]!) as { spec: unknown }).spec, (validateAgainstCrd(crd, example!.object) as { spec: unknown }).spec);
});

test('the doc names the finalizer, the short name and every example file', () => {
  for (const s of ['encourage.dev/final-checkpoint', 'kubectl get exp', 'kubectl scale exp/', ...readdirSync(join(ROOT, 'k8s/examples'))]) assert.ok(doc.includes(s), s);
});
