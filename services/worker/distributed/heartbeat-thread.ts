/**
 * The heartbeat loop, on its own thread. A training step runs synchronous WebAssembly for up to
 * seconds at a time (longer on a loaded node), during which the main thread's event loop — and
 * any timer on it — is frozen; heartbeats sent from there would make a busy worker look dead.
 * Here they keep their rhythm, like PyTorch elastic's agent process or NCCL's watchdog thread.
 * A worker that is really gone (crash, SIGSTOP, node loss) stops this thread too; a main thread
 * that hangs is caught by its peers' all-reduce deadline instead.
 *
 * workerData: { address, tls, workerId, intervalMs, progress: SharedArrayBuffer (Float64 ×2:
 * generation, step) }. Posts `{ type: 'reply', … }` or `{ type: 'error', code, message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as grpc from '@grpc/grpc-js';
import { loadTls, type TlsSettings } from '../../core/tls.js';
import { CoordinatorClient } from './coordinator-client.js';

interface HeartbeatThreadData {
  readonly address: string;
  readonly tls: TlsSettings | null;
  readonly workerId: string;
  readonly intervalMs: number;
  readonly progress: SharedArrayBuffer;
}

const data = workerData as HeartbeatThreadData;
const client = new CoordinatorClient(data.address, loadTls(data.tls));
const progress = new Float64Array(data.progress);
let inFlight = false;

const timer = setInterval(() => {
  if (inFlight) return;
  inFlight = true;
  client
    // A deadline of a few intervals (≥ 1 s): on a partitioned network nothing answers, and two
    // missed heartbeats must surface as "coordinator lost" long before the control-call deadline.
    .heartbeat(data.workerId, progress[0]!, Math.max(0, progress[1]!), Math.max(1_000, 3 * data.intervalMs))
    .then(
      (res) => parentPort?.postMessage({ type: 'reply', rendezvousPending: res.rendezvousPending, abort: res.abort, finished: res.finished }),
      (err: grpc.ServiceError) => parentPort?.postMessage({ type: 'error', code: err.code, message: err.message }),
    )
    .finally(() => (inFlight = false));
}, data.intervalMs);

parentPort?.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  client.close();
  parentPort?.close();
});
