import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { findProtoRoot, listProtoFiles, loadCollectiveProto, loadPackageDefinition } from './proto-loader.js';

test('the proto root is found from the compiled module, and every .proto file under it is listed', () => {
  const root = findProtoRoot();
  assert.ok(root.endsWith('/proto'));
  const files = listProtoFiles(root);
  assert.ok(files.includes('encourage/v1/collective.proto'));
  assert.ok(files.includes('encourage/v1/coordinator.proto'));
  assert.deepEqual(files, [...files].sort());
  assert.throws(() => findProtoRoot('/'), ConfigError);
});

test('all files load together into one package, and the collective service has its method', () => {
  const definition = loadPackageDefinition();
  assert.ok('encourage.v1.Collective' in definition);
  assert.ok('encourage.v1.TensorChunk' in definition);
  const method = loadCollectiveProto().encourage.v1.Collective.service.PullChunks;
  assert.equal(method.path, '/encourage.v1.Collective/PullChunks');
  assert.equal(method.requestStream, false);
  assert.equal(method.responseStream, true);
  // 64-bit fields come back as numbers, enums as names (PROTO_LOADER_OPTIONS).
  const request = method.requestDeserialize(method.requestSerialize({ generation: 2 ** 40, kind: 'COLLECTIVE_KIND_BARRIER' }));
  assert.equal(request.generation, 2 ** 40);
  assert.equal(request.kind, 'COLLECTIVE_KIND_BARRIER');
});

function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

test('the generated TypeScript is up to date with proto/ (run `npm run gen:proto` after editing a .proto)', () => {
  const root = dirname(findProtoRoot());
  const tmp = mkdtempSync(join(tmpdir(), 'gen-proto-check-'));
  try {
    const out = join(tmp, 'generated');
    execFileSync('bash', [join(root, 'scripts', 'gen-proto.sh')], { env: { ...process.env, GEN_PROTO_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    const fresh = filesUnder(out);
    const committed = filesUnder(join(root, 'services', 'core', 'proto', 'generated'));
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
    for (const [path, text] of fresh) assert.equal(committed.get(path), text, `${path} differs from what gen-proto.sh generates`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
