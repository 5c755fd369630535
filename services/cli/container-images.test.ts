/**
 * The container images, checked without a Docker engine: docker/Dockerfile.{cpu,gpu} are parsed
 * and every COPY source must exist and be in the build context (.dockerignore), the runtime runs
 * as the non-root user the Helm chart expects, tini is PID 1, Node's major matches package.json,
 * and the all-reduce process settings match services/worker/collective/process-tuning.ts. The GPU
 * image's webgpu route: the Vulkan loader, the driver capability that mounts NVIDIA's Vulkan ICD
 * (the operator's value), Dawn's binding kept and loadable on the base's glibc; its tfjs-node-gpu
 * route only when asked for. The `encourage` wrapper on PATH is executed for real against a
 * stand-in CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { TUNED_WORKER_ENV, TUNED_WORKER_EXEC_ARGV } from '../worker/collective/process-tuning.js';
import { NVIDIA_GRAPHICS_CAPABILITIES } from '../coordinator/operator/gpu-placement.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: string;
}

/** Dockerfile instructions (continuations joined, comments dropped), each with its stage name. */
function parseDockerfile(file: string): Instruction[] {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = '';
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (m === null || line.trimStart().startsWith('#')) continue;
    const [, op, args] = m as unknown as [string, string, string];
    if (op === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? args;
    out.push({ op, args: args.trim(), stage });
  }
  return out;
}

/** Patterns of the .dockerignore allowlist (`*` then `!path`). */
function contextIncludes(path: string): boolean {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(lines[0], '*', '.dockerignore is an allowlist');
  return lines.slice(1).some((l) => l.startsWith('!') && (l.slice(1) === path || (l.endsWith('/') && path.startsWith(l.slice(1)))) || l.slice(1) === `${path}/`);
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const values = parse(readFileSync(join(ROOT, 'helm/encourage/values.yaml'), 'utf8')) as { image: { repository: string } };
const deployment = readFileSync(join(ROOT, 'helm/encourage/templates/deployment.yaml'), 'utf8');

for (const [file, flavour] of [['docker/Dockerfile.cpu', 'cpu'], ['docker/Dockerfile.gpu', 'gpu']] as const) {
  test(`${file}: build context, stages, non-root user, tini, Node major, all-reduce settings`, () => {
    const ins = parseDockerfile(file);
    const stages = ins.filter((i) => i.op === 'FROM').map((i) => i.stage);
    assert.deepEqual(stages, ['node', 'build', 'deps', 'runtime'], 'multi-stage: node → build (tsc) → deps (production) → runtime');
    // Every COPY from the build context exists and is sent to the builder; --from names an earlier stage.
    for (const copy of ins.filter((i) => i.op === 'COPY')) {
      const words = copy.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const sources = paths.slice(0, -1);
      assert.ok(sources.length > 0, `COPY ${copy.args}`);
      if (from !== undefined) {
        assert.ok(stages.indexOf(from) >= 0 && stages.indexOf(from) < stages.indexOf(copy.stage), `COPY --from=${from} in stage ${copy.stage}`);
        continue;
      }
      for (const src of sources) {
        assert.ok(existsSync(join(ROOT, src)), `${file}: COPY source ${src} does not exist`);
        assert.ok(contextIncludes(src), `${file}: COPY source ${src} is excluded by .dockerignore`);
      }
    }
    const runtime = ins.filter((i) => i.stage === 'runtime');
    const last = <T extends string>(op: T) => runtime.filter((i) => i.op === op).at(-1)?.args;
    // Non-root, and the same uid the chart's pod securityContext runs as.
    const user = last('USER');
    assert.ok(user !== undefined && !/^(0|root)(:|$)/.test(user), `USER ${user}`);
    assert.match(deployment, new RegExp(`runAsUser: ${user!.split(':')[0]}\\b`), 'chart runAsUser = image USER');
    assert.deepEqual(JSON.parse(last('ENTRYPOINT') ?? 'null'), ['/usr/bin/tini', '--'], 'tini is PID 1 (exec form)');
    assert.ok(ins.some((i) => i.stage === 'node' && i.op === 'RUN' && /apt-get install[^&]*\btini\b/.test(i.args)), 'tini is installed');
    assert.equal(last('WORKDIR'), '/app');
    assert.ok(runtime.some((i) => i.op === 'COPY' && /docker\/encourage\.sh \/usr\/local\/bin\/encourage$/.test(i.args) && i.args.includes('--chmod=0755')), '`encourage` on PATH');
    // Node: pinned official tarball, verified, same major as package.json's engines and @types/node.
    const nodeVersion = /^NODE_VERSION=(\d+)\.(\d+)\.(\d+)$/.exec(ins.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_VERSION='))!.args);
    assert.ok(nodeVersion !== null, 'NODE_VERSION pinned to x.y.z');
    assert.equal(nodeVersion[1], /(\d+)/.exec(pkg.engines.node)![1], 'Node major = package.json engines');
    assert.equal(nodeVersion[1], /(\d+)/.exec(pkg.devDependencies['@types/node']!)![1], 'Node major = @types/node major');
    assert.match(ins.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_SHA256='))!.args, /^NODE_SHA256=[0-9a-f]{64}$/);
    assert.ok(ins.some((i) => i.op === 'RUN' && i.args.includes('https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz') && i.args.includes('sha256sum -c')), 'official tarball, checksum verified');
    // The malloc settings of the measured all-reduce, exactly.
    const env = runtime.filter((i) => i.op === 'ENV').flatMap((i) => i.args.split(/\s+/)).map((kv) => kv.split('=') as [string, string]);
    for (const [k, v] of Object.entries(TUNED_WORKER_ENV)) assert.ok(env.some(([ek, ev]) => ek === k && ev === v), `ENV ${k}=${v}`);
    // The flavour: which TensorFlow C package is built, which is removed; the base image.
    const base = ins.find((i) => i.op === 'ARG' && i.args.startsWith('BASE_IMAGE='))!.args;
    const deps = ins.filter((i) => i.stage === 'deps' && i.op === 'RUN').map((i) => i.args).join(' ');
    // What the image's processes see: ENV lines of the runtime stage, and packages installed in it or the stage it builds on.
    const runtimeApt = ins.filter((i) => (i.stage === 'runtime' || i.stage === 'node') && i.op === 'RUN').flatMap((i) => [...i.args.matchAll(/apt-get install\s+((?:-\S+\s+)*)([^&;]+)/g)].flatMap((m) => m[2]!.trim().split(/\s+/)));
    const capabilities = env.find(([k]) => k === 'NVIDIA_DRIVER_CAPABILITIES')?.[1];
    if (flavour === 'gpu') {
      // webgpu by default: no CUDA in the image, the CPU image's base (Dawn's binding needs glibc ≥ 2.34).
      assert.match(base, /^BASE_IMAGE=debian:12-slim$/);
      assert.equal(ins.find((i) => i.op === 'ARG' && i.args.startsWith('GPU_ROUTE='))?.args, 'GPU_ROUTE=webgpu', 'the webgpu route is the default');
      for (const lib of ['libvulkan1', 'libglvnd0', 'libx11-6', 'libxext6']) assert.ok(runtimeApt.includes(lib), `${lib} in the runtime image (installed: ${runtimeApt.join(' ')})`);
      assert.equal(capabilities, NVIDIA_GRAPHICS_CAPABILITIES, 'graphics: the container toolkit mounts the Vulkan ICD; same value as the operator sets');
      assert.ok(capabilities!.split(',').includes('graphics') && capabilities!.split(',').includes('compute'));
      // Dawn stays (a regular dependency, never removed); the build fails where it cannot load.
      assert.ok(pkg.dependencies['webgpu'] !== undefined, 'webgpu is a regular dependency');
      assert.doesNotMatch(deps, /rm -rf[^&]*node_modules\/webgpu\b/);
      assert.ok(runtime.some((i) => i.op === 'RUN' && /GPU_ROUTE.*= webgpu.*node --input-type=module -e "await import\('webgpu'\)"/.test(i.args)), 'the build loads Dawn\'s binding');
      assert.ok(runtime.findIndex((i) => i.op === 'RUN' && i.args.includes("import('webgpu')")) > runtime.findIndex((i) => i.op === 'COPY' && i.args.includes('--from=deps')), 'after node_modules is in place');
      // tfjs-node-gpu only on its route; the CPU TensorFlow package never (no quiet fall back to the CPU on a GPU pod).
      assert.match(deps, /if \[ "\$\{GPU_ROUTE\}" = tfjs-node-gpu \]; then npm rebuild @tensorflow\/tfjs-node-gpu; else rm -rf node_modules\/@tensorflow\/tfjs-node-gpu; fi/);
      assert.match(deps, /rm -rf node_modules\/@tensorflow\/tfjs-node(\s|$)/);
      assert.match(deps, /case "\$\{GPU_ROUTE\}" in webgpu\|tfjs-node-gpu\)/, 'an unknown GPU_ROUTE fails the build');
      // The header says how to build the legacy route: CUDA 11.2 + cuDNN 8 runtime base.
      const text = readFileSync(join(ROOT, file), 'utf8');
      assert.match(text, /--build-arg GPU_ROUTE=tfjs-node-gpu/);
      assert.match(text, /--build-arg BASE_IMAGE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu\d+\.\d+ /, 'tfjs-node-gpu: CUDA 11.2 + cuDNN 8 runtime');
    } else {
      assert.match(base, /^BASE_IMAGE=debian:12-slim$/);
      assert.match(deps, /npm rebuild @tensorflow\/tfjs-node(\s|$)/);
      assert.match(deps, /rm -rf node_modules\/@tensorflow\/tfjs-node-gpu\b/);
      assert.equal(capabilities, undefined, 'no GPU settings in the CPU image');
      assert.ok(!runtimeApt.includes('libvulkan1'), 'no Vulkan in the CPU image: auto never picks a software adapter');
    }
  });
}

/** glibc of the GPU image's base (Debian 12 "bookworm": 2.36); extend when the base changes. */
const BASE_GLIBC: Record<string, readonly [number, number]> = { 'debian:12-slim': [2, 36] };

test('Dawn\'s binding (npm webgpu, linux-x64) needs no newer glibc than the GPU image\'s base has', () => {
  const base = parseDockerfile('docker/Dockerfile.gpu').find((i) => i.op === 'ARG' && i.args.startsWith('BASE_IMAGE='))!.args.slice('BASE_IMAGE='.length);
  const glibc = BASE_GLIBC[base];
  assert.ok(glibc !== undefined, `glibc of ${base} unknown: add it to BASE_GLIBC`);
  // The versioned symbols the binary needs are named in its dynamic string table (GLIBC_2.34, …).
  const binary = readFileSync(join(ROOT, 'node_modules/webgpu/dist/linux-x64/dawn.node')).toString('latin1');
  const needed = [...binary.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.\d+)?\0/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  assert.ok(needed.length > 0, 'dawn.node names the glibc versions it needs');
  const newest = needed.reduce((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a));
  assert.ok(newest[0] < glibc[0] || (newest[0] === glibc[0] && newest[1] <= glibc[1]), `dawn.node needs GLIBC_${newest.join('.')}, ${base} has ${glibc.join('.')}`);
});

test('the image names in the chart and the Dockerfiles agree', () => {
  assert.equal(values.image.repository, 'ghcr.io/encourage/encourage');
  assert.match(readFileSync(join(ROOT, 'docker/Dockerfile.cpu'), 'utf8'), /-t ghcr\.io\/encourage\/encourage:/);
  assert.match(readFileSync(join(ROOT, 'docker/Dockerfile.gpu'), 'utf8'), /-t ghcr\.io\/encourage\/encourage-gpu:/);
});

test('the `encourage` wrapper execs the CLI with the all-reduce V8 flags and passes arguments through', () => {
  const home = mkdtempSync(join(tmpdir(), 'encourage-home-'));
  mkdirSync(join(home, 'dist/services/cli'), { recursive: true });
  // A stand-in CLI that reports how it was started.
  writeFileSync(join(home, 'dist/services/cli/main.js'), 'process.stdout.write(JSON.stringify({ execArgv: process.execArgv, args: process.argv.slice(2) }));\n');
  const out = execFileSync('sh', [join(ROOT, 'docker/encourage.sh'), 'worker', '--local-procs', 'auto', 'a b'], { env: { ...process.env, ENCOURAGE_HOME: home }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { execArgv: [...TUNED_WORKER_EXEC_ARGV], args: ['worker', '--local-procs', 'auto', 'a b'] });
});
