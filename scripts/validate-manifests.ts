/**
 * Validate Kubernetes manifests offline: `node dist/scripts/validate-manifests.js [--crd FILE]...
 * [--skip-group GROUP]... FILE...|-` (`-` reads stdin, e.g. `helm template … | …`). Built-in
 * kinds are checked against the Kubernetes OpenAPI schemas, custom resources against the CRDs
 * given with --crd (and any CRD among the inputs). Objects of a --skip-group are listed as
 * skipped, never silently. Prints one JSON line {objects, validated, skipped, errors}; exits 1
 * when any object is invalid.
 */
import { readFile } from 'node:fs/promises';
import { parseManifests, objectLabel, type ManifestDocument } from '../services/coordinator/k8s/yaml-documents.js';
import { validateK8sObject } from '../services/coordinator/k8s/manifest-validation.js';
import { readStdin } from '../services/cli/io.js';

const crdFiles: string[] = [];
const skipGroups: string[] = [];
const inputs: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]!;
  if (arg === '--crd' || arg === '--skip-group') {
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    (arg === '--crd' ? crdFiles : skipGroups).push(value);
  } else {
    inputs.push(arg);
  }
}
if (inputs.length === 0) {
  process.stderr.write('usage: validate-manifests [--crd FILE]... [--skip-group GROUP]... FILE...|-\n');
  process.exit(2);
}

const load = async (file: string): Promise<ManifestDocument[]> => parseManifests(file === '-' ? await readStdin() : await readFile(file, 'utf8'), file === '-' ? 'stdin' : file);
const docs = (await Promise.all(inputs.map(load))).flat();
const crds = [...(await Promise.all(crdFiles.map(load))).flat(), ...docs].map((d) => d.object).filter((o) => o['kind'] === 'CustomResourceDefinition');

const skipped: string[] = [];
const errors: string[] = [];
let validated = 0;
for (const doc of docs) {
  const group = String(doc.object['apiVersion'] ?? '').split('/').slice(0, -1).join('/');
  if (skipGroups.includes(group)) {
    skipped.push(objectLabel(doc.object));
    continue;
  }
  try {
    await validateK8sObject(doc.object, { crds, source: `${doc.file}#${doc.index}` });
    validated++;
  } catch (err) {
    errors.push(err instanceof Error ? err.message : String(err));
  }
}
for (const e of errors) process.stderr.write(`invalid: ${e}\n`);
process.stdout.write(`${JSON.stringify({ objects: docs.length, validated, skipped, errors: errors.length })}\n`);
process.exitCode = errors.length > 0 ? 1 : 0;
