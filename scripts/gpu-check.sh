#!/usr/bin/env bash
# The GPU figures and checks, as one script for a GPU machine with no node (see gpu-bundle.sh,
# which packs .dev/; the Vulkan loader debs are in .gl/, docs/gpu.md says how to fetch them):
#   1. the webgpu tests (every custom kernel and whole steps of every model vs cpu) on its adapter
#   2. bench-train --backend webgpu, ResNet-18 and ResNet-20 at batch 512, PyTorch CUDA in the same
#      run, with the kernel switches (ENCOURAGE_WEBGPU_GEMM, ENCOURAGE_WEBGPU_CONV) A/B
#   3. profile-train-step --backend webgpu (per-kernel GPU time from timestamp queries) at batch 512
#   4. the benchmark at batch 128
# Each stage has its own time limit and the next runs whatever the last did. Writes $OUT/check.log
# (everything) and $OUT/results.jsonl (each stage's last-line JSON).
# GPU_CHECK_MODE=quick: tiny batches, for trying the script on lavapipe before spending device time;
# GPU_CHECK_MODE=bench: only the two batch-512 benchmarks with the default kernels (a short re-measure).
set -u
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
log=$out/check.log
results=$out/results.jsonl
: > "$results"
mode=${GPU_CHECK_MODE:-full}
say() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$log"; }

# The device image has no Vulkan loader; a machine that has one (this repo's CI) keeps its own.
# The debs are unpacked over / — only as root on a machine that has no loader of its own.
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  if [ "$(id -u)" != 0 ] || ! ls .gl/*.deb > /dev/null 2>&1; then
    echo "gpu-check: no Vulkan loader here; install libvulkan1, or run as root with its debs in .gl/ (docs/gpu.md)" >&2
    exit 2
  fi
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
done
node=/tmp/encourage-node/node
mkdir -p /tmp/encourage-node
python3 - <<'EOF'
import lzma, os, shutil
for src, dst in [('.dev/node.xz', '/tmp/encourage-node/node'),
                 ('.dev/node_modules/webgpu/dist/linux-x64/dawn.node.xz', '.dev/node_modules/webgpu/dist/linux-x64/dawn.node')]:
    if not os.path.exists(dst):
        with lzma.open(src) as i, open(dst, 'wb') as o: shutil.copyfileobj(i, o)
os.chmod('/tmp/encourage-node/node', 0o755)
EOF
say "node $($node -v); VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}; mode=$mode"
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true) | tee -a "$log"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tee -a "$log"

# stage NAME SECONDS COMMAND...: runs it with a time limit, keeps its last JSON line.
stage() {
  local name=$1 secs=$2; shift 2
  say "stage $name (limit ${secs}s): $*"
  local tmp; tmp=$(mktemp)
  timeout -k 5 "$secs" "$@" > "$tmp" 2>&1
  local rc=$?
  cat "$tmp" >> "$log"
  local last; last=$(grep '^{' "$tmp" | tail -1)
  printf '{"stage":"%s","rc":%d,"result":%s}\n' "$name" "$rc" "${last:-null}" >> "$results"
  say "stage $name: rc $rc; $(tail -1 "$tmp" | cut -c1-300)"
  rm -f "$tmp"
}

bench=.dev/bundle/dist/scripts/bench-train.js
profile=.dev/bundle/dist/scripts/profile-train-step.js
mapfile -t tests < <(sed 's#^#.dev/#' .dev/tests.txt)
if [ "$mode" = quick ]; then
  stage tests 900 "$node" --test --test-concurrency=2 "${tests[@]}"
  stage bench-resnet20-b8 120 "$node" "$bench" --backend webgpu --model resnet20 --batch 8 --steps 2 --rounds 1 --warmup 1
  stage profile-resnet20-b8 300 "$node" "$profile" --backend webgpu --model resnet20 --batch 8 --rounds 1
  exit 0
fi
b512=(--backend webgpu --batch 512 --steps 10 --warmup 3)
if [ "$mode" = bench ]; then
  stage bench-resnet18-b512 75 "$node" "$bench" --model resnet18 "${b512[@]}" --rounds 3
  stage bench-resnet20-b512 60 "$node" "$bench" --model resnet20 "${b512[@]}" --rounds 3
  say done
  exit 0
fi
stage tests 100 "$node" --test --test-concurrency=8 "${tests[@]}"
# Benchmarks on a software adapter (a missing NVIDIA ICD) would only spend the lease.
if grep -q 'tests run on .*(software)' "$log" || ! grep -q 'tests run on' "$log"; then
  say "no hardware adapter: the benchmarks are not run"
  exit 1
fi
# The kernel switches, A/B in the same run: the defaults (8 × 8 tiles where a side is over 64,
# our GEMM Conv2D) against 4 × 4 tiles and tfjs's Conv2D (what the first GPU run measured).
old=(env ENCOURAGE_WEBGPU_GEMM=narrow ENCOURAGE_WEBGPU_CONV=stock)
stage bench-resnet18-b512 75 "$node" "$bench" --model resnet18 "${b512[@]}" --rounds 3
stage bench-resnet18-b512-narrow-stockconv 60 "${old[@]}" "$node" "$bench" --model resnet18 "${b512[@]}" --rounds 3
stage bench-resnet18-b512-narrow 25 env ENCOURAGE_WEBGPU_GEMM=narrow "$node" "$bench" --model resnet18 "${b512[@]}" --rounds 2 --no-peer
stage bench-resnet18-b512-stockconv 25 env ENCOURAGE_WEBGPU_CONV=stock "$node" "$bench" --model resnet18 "${b512[@]}" --rounds 2 --no-peer
stage bench-resnet20-b512 50 "$node" "$bench" --model resnet20 "${b512[@]}" --rounds 3
stage bench-resnet20-b512-narrow-stockconv 50 "${old[@]}" "$node" "$bench" --model resnet20 "${b512[@]}" --rounds 3
stage bench-resnet20-b512-narrow 25 env ENCOURAGE_WEBGPU_GEMM=narrow "$node" "$bench" --model resnet20 "${b512[@]}" --rounds 2 --no-peer
stage profile-resnet18-b512 40 "$node" "$profile" --backend webgpu --model resnet18 --batch 512 --rounds 1
stage profile-resnet20-b512 40 "$node" "$profile" --backend webgpu --model resnet20 --batch 512 --rounds 1
stage bench-resnet20-b128 30 "$node" "$bench" --model resnet20 --backend webgpu --batch 128 --steps 10 --rounds 2 --warmup 3
stage bench-resnet18-b128 30 "$node" "$bench" --model resnet18 --backend webgpu --batch 128 --steps 10 --rounds 2 --warmup 3
say done
