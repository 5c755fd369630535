/**
 * A grpc.health.v1 client (https://github.com/grpc/grpc/blob/master/doc/health-checking.md): asks
 * a coordinator or the operator whether a service is SERVING. What `encourage health` runs — the
 * Helm chart's `helm test` hook and a troubleshooting command — the same check the kubelet's
 * native gRPC probe makes.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { channelCredentials, type TlsMaterial } from '../core/tls.js';
import { HealthCheckError } from './errors.js';

/** What the server answered: SERVING, NOT_SERVING, UNKNOWN (or SERVICE_UNKNOWN from Watch). */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');

/**
 * Call `grpc.health.v1.Health/Check` for `service` ('' = the server as a whole) on `address`
 * (host:port), plaintext or with `tls` (the pod's own certificate, under mutual TLS), within `timeoutMs` (waiting for the connection counts). Resolves with
 * the status the server reports; rejects with `HealthCheckError` when there is no answer
 * (unreachable, deadline exceeded, NOT_FOUND for a service the server does not know).
 */
export async function probeHealth(address: string, options: { service?: string; timeoutMs: number; tls?: TlsMaterial | null }): Promise<HealthStatus> {
  const service = options.service ?? '';
  const { credentials, options: channelOptions } = channelCredentials(options.tls ?? null);
  const client = new HealthClient(address, credentials, channelOptions);
  try {
    return await new Promise<HealthStatus>((resolve, reject) => {
      const deadline = new Date(Date.now() + options.timeoutMs);
      // waitForReady: a probe started while the server is still coming up waits (up to the deadline).
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (req: { service: string }) => healthService['Check']!.requestSerialize(req),
        (buf: Buffer) => healthService['Check']!.responseDeserialize(buf) as { status: HealthStatus },
        { service },
        new grpc.Metadata({ waitForReady: true }),
        { deadline },
        (err, res) => (err !== null || res === undefined ? reject(new HealthCheckError(address, service, err?.details || err?.message || 'empty response')) : resolve(res.status)),
      );
    });
  } finally {
    client.close();
  }
}
