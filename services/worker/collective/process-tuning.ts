/**
 * Process settings under which the collective data plane was measured (docs/performance.md,
 * "## All-reduce"). They must be set when a worker process starts — glibc reads its malloc
 * settings from the environment at exec time, V8 its GC flags at start-up — so they are applied
 * by whatever launches workers (scripts/bench-allreduce.ts and the tests through WorkerRing; in a
 * deployment, the worker container's env and node flags).
 *
 * Why they matter: the data plane itself allocates no message buffers once its pool is warm
 * (lean-server.ts), but Node's HTTP/2 does for every socket read, and the worker's own compute
 * allocates too:
 * - With glibc's defaults, blocks of 1 MiB are mmap()ed and munmap()ed each time; every page is
 *   then faulted in on first touch, which on the project's Firecracker VMs costs ~4 ms per MiB
 *   (≈15 µs per 4 KiB fault) — twenty times the copy itself. Raising the mmap threshold and the
 *   trim threshold keeps freed blocks in the heap for reuse.
 * - Each 64 MiB of new external memory makes V8 run a mark-compact GC; its parallel helper
 *   threads then compete with the other ranks for the few cores of a worker pod.
 *   `--single-threaded-gc` keeps the GC on the thread that is waiting for it anyway, and a larger
 *   young generation lets more short-lived message buffers die in cheap scavenges.
 * - Node's HTTP/2 reads the socket into a fresh 64 KiB ArrayBuffer per read, so every received
 *   megabyte is external memory that makes V8 scavenge; what a scavenge promotes grows the old
 *   generation, and with V8's small initial old-generation limit that meant a mark-compact every
 *   few operations. A 128 MiB initial old space defers them: 6–9% less CPU per 16 MB all-reduce
 *   (measured 2026-12-04, interleaved, 2 and 4 ranks; 256 MiB gained no more within noise).
 */

/** Node/V8 flags for a worker process (pass as `execArgv`). */
export const TUNED_WORKER_EXEC_ARGV: readonly string[] = Object.freeze(['--single-threaded-gc', '--max-semi-space-size=64', '--initial-old-space-size=128']);

/** Environment for a worker process (glibc malloc; read at exec). */
export const TUNED_WORKER_ENV: Readonly<Record<string, string>> = Object.freeze({
  // Blocks below 64 MiB come from the heap instead of fresh mmap()s…
  MALLOC_MMAP_THRESHOLD_: String(64 * 1024 * 1024),
  // …and freed memory is kept for reuse instead of being returned to the kernel.
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
});
