/**
 * Transport ceiling probe: raw Node HTTP/2 (no gRPC, no protobuf, no reduction) moving the bytes
 * a ring all-reduce moves, between the same worker processes. `bench-allreduce --probe` reports
 * it next to the all-reduce, so the cost of the gRPC layer and of the algorithm can be told apart
 * from the cost of Node's HTTP/2 itself (docs/performance.md, "## All-reduce").
 *
 * Each rank serves a byte stream and pulls one from its left neighbour, like the collective's
 * PullChunks: sender-side writes of 1 MiB from a reused buffer, 32 MiB flow-control windows.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

const WRITE_BYTES = 1024 * 1024;
const WINDOW_BYTES = 32 * 1024 * 1024;
/** Deadline of one probe transfer. */
const PROBE_TIMEOUT_MS = 60_000;

export interface ProbeServer {
  readonly address: string;
  close(): void;
}

/** Serve `GET /<n>`: n bytes of a reused buffer, written in 1 MiB pieces. */
export async function startProbeServer(): Promise<ProbeServer> {
  const payload = Buffer.alloc(WRITE_BYTES, 1);
  const server = http2.createServer({ settings: { initialWindowSize: WINDOW_BYTES } });
  server.on('session', (session) => session.once('remoteSettings', () => session.setLocalWindowSize(WINDOW_BYTES)));
  server.on('stream', (stream, headers) => {
    let remaining = Number(String(headers[':path']).slice(1));
    stream.respond({ ':status': 200 });
    const pump = (): void => {
      while (remaining > 0) {
        const n = Math.min(remaining, WRITE_BYTES);
        remaining -= n;
        if (!stream.write(n === WRITE_BYTES ? payload : payload.subarray(0, n))) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** A client session to a probe server; `pull(n)` resolves with the seconds it took to receive n bytes. */
export async function connectProbe(address: string): Promise<{ pull(bytes: number): Promise<number>; close(): void }> {
  const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: WINDOW_BYTES } });
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  session.setLocalWindowSize(WINDOW_BYTES);
  return {
    pull: (bytes) =>
      new Promise<number>((resolve, reject) => {
        const started = process.hrtime.bigint();
        const request = session.request({ ':path': `/${bytes}` });
        request.setTimeout(PROBE_TIMEOUT_MS, () => request.close(http2.constants.NGHTTP2_CANCEL));
        let received = 0;
        request.on('data', (data: Buffer) => (received += data.length));
        request.on('end', () => (received === bytes ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`probe got ${received} of ${bytes} bytes`))));
        request.on('error', reject);
        request.end();
      }),
    close: () => session.close(),
  };
}
