/**
 * Process settings under which the collective data plane was measured (docs/performance.md,
 * "## All-reduce"). They must be set when a worker process starts — glibc reads its malloc
 * settings from the environment at exec time, V8 its GC flags at start-up — so they are applied
 * by whatever launches workers (scripts/bench-allreduce.ts and the tests through WorkerRing; in a
 * deployment, the worker container's env and node flags).
 *
 * Why they matter: grpc-js allocates a fresh buffer for every message it frames (send) and
 * assembles (receive), so moving 16 MiB allocates about 32 MiB of short-lived ArrayBuffers.
 * - With glibc's defaults, blocks of 1 MiB are mmap()ed and munmap()ed each time; every page is
 *   then faulted in on first touch, which on the project's Firecracker VMs costs ~4 ms per MiB
 *   (≈15 µs per 4 KiB fault) — twenty times the copy itself. Raising the mmap threshold and the
 *   trim threshold keeps freed blocks in the heap for reuse.
 * - Each 64 MiB of new external memory makes V8 run a mark-compact GC; its parallel helper
 *   threads then compete with the other ranks for the few cores of a worker pod.
 *   `--single-threaded-gc` keeps the GC on the thread that is waiting for it anyway, and a larger
 *   young generation lets more short-lived message buffers die in cheap scavenges.
 */

/** Node/V8 flags for a worker process (pass as `execArgv`). */
export const TUNED_WORKER_EXEC_ARGV: readonly string[] = Object.freeze(['--single-threaded-gc', '--max-semi-space-size=64']);

/** Environment for a worker process (glibc malloc; read at exec). */
export const TUNED_WORKER_ENV: Readonly<Record<string, string>> = Object.freeze({
  // Blocks below 64 MiB come from the heap instead of fresh mmap()s…
  MALLOC_MMAP_THRESHOLD_: String(64 * 1024 * 1024),
  // …and freed memory is kept for reuse instead of being returned to the kernel.
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
});
