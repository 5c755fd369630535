#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has neither node nor node_modules
# (the `device` machines of this workplace: a copy of the working tree, 64 MiB at most, nothing
# to install from). Writes .dev/ (git-ignored through .git/info/exclude):
#   node.xz                         this machine's node binary (x86-64)
#   node_modules/webgpu/            Dawn's Node binding: package.json, index.js, dawn.node.xz
#   bundle/dist/...                 one esbuild bundle per entry (benchmarks, profiler, the webgpu
#                                   tests), split so that TF.js is in one shared chunk
#   shared/peers/                   the PyTorch peers (bench-train looks three folders up for them)
# Usage: npm run -s build && bash scripts/gpu-bundle.sh [PEERS_DIR (default ../shared/peers)]
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${1:-../shared/peers}
[ -f dist/scripts/bench-train.js ] || { echo "gpu-bundle: dist/ is missing; run npm run -s build first" >&2; exit 2; }
[ -d "$peers" ] || { echo "gpu-bundle: no peer scripts at $peers" >&2; exit 2; }
[ "$(uname -m)" = x86_64 ] || { echo "gpu-bundle: the device machines are x86-64; this is $(uname -m)" >&2; exit 2; }

rm -rf .dev
mkdir -p .dev/node_modules/webgpu/dist/linux-x64 .dev/shared
xz -T0 -6 -c "$(command -v node)" > .dev/node.xz
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .dev/node_modules/webgpu/
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .dev/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cp -r "$peers" .dev/shared/peers

# The webgpu tests that run in one process (no child processes, no other files at run time).
tests=(
  dist/services/worker/backend/webgpu-runtime.test.js
  dist/services/worker/backend/webgpu/program-runner.test.js
  dist/services/worker/backend/webgpu/conv-grad-kernels.test.js
  dist/services/worker/backend/webgpu/batch-norm-kernels.test.js
  dist/services/worker/backend/webgpu/sgd-kernel.test.js
  dist/services/worker/models/layers/fused-tape.test.js
  dist/services/worker/train/webgpu-step.test.js
)
# `webgpu` stays external (it loads dawn.node beside itself); tfjs-node(-gpu) are absent there;
# CommonJS dependencies inside an ESM bundle need a real `require`, `__dirname` and `__filename`;
# the packages' ESM builds ("module") keep the named exports of the dynamic imports.
npx --no-install esbuild dist/scripts/bench-train.js dist/scripts/profile-train-step.js "${tests[@]}" \
  --bundle --platform=node --format=esm --target=node20 --splitting --outbase=dist --outdir=.dev/bundle/dist \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --main-fields=module,main \
  --banner:js="import { createRequire as __encourageRequire } from 'node:module'; import { fileURLToPath as __encourageFile } from 'node:url'; import { dirname as __encourageDir } from 'node:path'; const require = __encourageRequire(import.meta.url); const __filename = __encourageFile(import.meta.url); const __dirname = __encourageDir(__filename);" \
  --ignore-annotations --log-level=warning
# tfjs-backend-wasm reads its binaries beside the module that loads them (the tests' `auto` falls back to it).
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .dev/bundle/dist/
printf '%s\n' "${tests[@]}" | sed 's#^dist/#bundle/dist/#' > .dev/tests.txt
du -sh .dev
