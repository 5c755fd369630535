/**
 * The worker's client of the coordinator: promisified calls, each with a deadline, so a dead or
 * partitioned coordinator surfaces as an error instead of a hang.
 */
import * as grpc from '@grpc/grpc-js';
import { loadGrpcObject } from '../../core/proto/proto-loader.js';
import type { ProtoGrpcType } from '../../core/proto/generated/coordinator.js';
import type { CoordinatorClient as GeneratedClient } from '../../core/proto/generated/encourage/v1/Coordinator.js';
import type { Assignment__Output } from '../../core/proto/generated/encourage/v1/Assignment.js';
import type { EpochPlan__Output } from '../../core/proto/generated/encourage/v1/EpochPlan.js';
import type { StepReport } from '../../core/proto/generated/encourage/v1/StepReport.js';
import type { EvalReport } from '../../core/proto/generated/encourage/v1/EvalReport.js';
import type { RegisterRequest } from '../../core/proto/generated/encourage/v1/RegisterRequest.js';
import type { RegisterResponse__Output } from '../../core/proto/generated/encourage/v1/RegisterResponse.js';
import type { RunDescription__Output } from '../../core/proto/generated/encourage/v1/RunDescription.js';
import type { HeartbeatResponse__Output } from '../../core/proto/generated/encourage/v1/HeartbeatResponse.js';
import type { CheckpointAck__Output } from '../../core/proto/generated/encourage/v1/CheckpointAck.js';
import type { CheckpointChunk__Output } from '../../core/proto/generated/encourage/v1/CheckpointChunk.js';
import type { Ack__Output } from '../../core/proto/generated/encourage/v1/Ack.js';
import { channelCredentials, tlsMode, type TlsMaterial } from '../../core/tls.js';
import { CoordinatorHandshakeError, CoordinatorUnreachableError } from '../errors.js';

/** Deadline of ordinary control-plane calls. */
export const CONTROL_CALL_TIMEOUT_MS = 15_000;
/** How long one WaitAssignment long poll may be held by the coordinator. */
export const WAIT_ASSIGNMENT_TIMEOUT_MS = 12_000;
/**
 * How long the first call waits for the coordinator to come up: pods start in any order, so a
 * worker that is up before the coordinator waits for it (gRPC waitForReady) instead of failing.
 */
export const COORDINATOR_CONNECT_TIMEOUT_MS = 120_000;
/** Deadline of a whole checkpoint upload. */
export const CHECKPOINT_UPLOAD_TIMEOUT_MS = 120_000;
/** Size of one checkpoint chunk on the wire. */
export const CHECKPOINT_CHUNK_BYTES = 1024 * 1024;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Connection errors that mean nobody answers at the address yet (the coordinator pod is not up,
 * its Service has no endpoint, DNS does not know it yet): worth waiting for. Any other failure to
 * establish a connection happened after TCP connected, i.e. in the TLS or HTTP/2 handshake.
 */
const NOT_UP_YET = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|name resolution|DNS resolution/i;
/** How long handshake failures must persist before the first contact gives up (a coordinator mid-restart gets this much slack). */
export const HANDSHAKE_GIVE_UP_MS = 3_000;
/** Pause between first-contact attempts (grpc-js paces the real reconnects with its own backoff). */
const FIRST_CONTACT_RETRY_MS = 250;

type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

export class CoordinatorClient {
  private readonly client: GeneratedClient;
  /** Unary calls in flight, so that a lost coordinator can cancel them at once. */
  private readonly inFlight = new Set<grpc.ClientUnaryCall>();
  /** This client's transport (off, on, mutual), for error messages. */
  private readonly tls: string;

  constructor(
    readonly address: string,
    tls: TlsMaterial | null = null,
  ) {
    this.tls = tlsMode(tls?.settings ?? null);
    const proto = loadGrpcObject<ProtoGrpcType>(['encourage/v1/coordinator.proto']).encourage.v1;
    const { credentials, options } = channelCredentials(tls);
    this.client = new proto.Coordinator(address, credentials, {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // A restarted coordinator should be found again quickly.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
      ...options,
    });
  }

  private call<Req, Res>(method: Unary<Req, Res>, req: Req, timeoutMs = CONTROL_CALL_TIMEOUT_MS, waitForReady = false): Promise<Res> {
    return new Promise((resolve, reject) => {
      // grpc-js takes wait-for-ready from the call's metadata options, not from CallOptions.
      const call = method.call(this.client, req, new grpc.Metadata({ waitForReady }), { deadline: Date.now() + timeoutMs }, (err, res) => {
        this.inFlight.delete(call);
        if (err === null && res !== undefined) resolve(res);
        else reject(err ?? new Error('empty response'));
      });
      this.inFlight.add(call);
    });
  }

  /**
   * The first call of a worker. Pods start in any order, so a coordinator that is not up yet
   * (connection refused, name not resolved) is waited for, up to `connectTimeoutMs`; but one that
   * accepts TCP connections while no gRPC session comes up (a TLS mismatch) is a configuration
   * error that waiting cannot fix: it fails after HANDSHAKE_GIVE_UP_MS with
   * CoordinatorHandshakeError. Calls are made without wait-for-ready so that grpc-js reports the
   * connection error (with wait-for-ready it would only report the deadline).
   */
  async describeRun(joinToken: string, connectTimeoutMs = COORDINATOR_CONNECT_TIMEOUT_MS): Promise<RunDescription__Output> {
    const started = Date.now();
    let handshakeFailingSince: number | null = null;
    let lastError = '';
    for (;;) {
      const remaining = started + connectTimeoutMs - Date.now();
      try {
        return await this.call(this.client.DescribeRun as Unary<{ joinToken: string }, RunDescription__Output>, { joinToken }, Math.max(1, Math.min(remaining, CONTROL_CALL_TIMEOUT_MS)));
      } catch (err) {
        const e = err as grpc.ServiceError;
        const transport = e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED;
        if (!transport) throw err;
        const detail = (e.details ?? e.message).replace(/\s+/g, ' ').trim();
        // A connection error says more than the deadline of an attempt that waited for one.
        if (e.code === grpc.status.UNAVAILABLE || lastError === '') lastError = detail;
        if (e.code === grpc.status.UNAVAILABLE && !NOT_UP_YET.test(detail)) {
          handshakeFailingSince ??= Date.now();
          const failingForMs = Date.now() - handshakeFailingSince;
          if (failingForMs >= HANDSHAKE_GIVE_UP_MS) throw new CoordinatorHandshakeError(this.address, this.tls, detail, failingForMs);
        } else handshakeFailingSince = null;
        if (Date.now() - started >= connectTimeoutMs) throw new CoordinatorUnreachableError(this.address, connectTimeoutMs, lastError);
        await new Promise((resolve) => setTimeout(resolve, FIRST_CONTACT_RETRY_MS));
      }
    }
  }

  register(req: RegisterRequest): Promise<RegisterResponse__Output> {
    return this.call(this.client.Register as Unary<RegisterRequest, RegisterResponse__Output>, req);
  }

  /**
   * Long poll for an assignment newer than `knownGeneration`; `appliedStep` is the global step of
   * the state this worker holds (-1: none) and `reason` why it re-joins.
   */
  waitAssignment(workerId: string, knownGeneration: number, appliedStep = -1, reason = '', suspect = ''): Promise<Assignment__Output> {
    return this.call(this.client.WaitAssignment as Unary<object, Assignment__Output>, { workerId, knownGeneration, appliedStep, reason, suspect }, WAIT_ASSIGNMENT_TIMEOUT_MS + 3_000, true);
  }

  /** One heartbeat; `timeoutMs` should be a few intervals, so a black-holed network is noticed quickly. */
  heartbeat(workerId: string, generation: number, step: number, timeoutMs = CONTROL_CALL_TIMEOUT_MS): Promise<HeartbeatResponse__Output> {
    return this.call(this.client.Heartbeat as Unary<object, HeartbeatResponse__Output>, { workerId, generation, step }, timeoutMs);
  }

  epochPlan(workerId: string, generation: number, epoch: number): Promise<EpochPlan__Output> {
    return this.call(this.client.GetEpochPlan as Unary<object, EpochPlan__Output>, { workerId, generation, epoch });
  }

  reportStep(report: StepReport): Promise<Ack__Output> {
    return this.call(this.client.ReportStep as Unary<StepReport, Ack__Output>, report);
  }

  reportEval(report: EvalReport): Promise<Ack__Output> {
    return this.call(this.client.ReportEval as Unary<EvalReport, Ack__Output>, report);
  }

  leave(workerId: string, generation: number, reason: 'done' | 'shutdown' | 'nonfinite', detail = ''): Promise<unknown> {
    return this.call(this.client.Leave as Unary<object, unknown>, { workerId, generation, reason, detail });
  }

  /** Download the run's newest checkpoint (server streaming), checking offsets and the announced size. */
  fetchCheckpoint(workerId: string, generation: number): Promise<{ step: number; bytes: Buffer }> {
    return new Promise((resolve, reject) => {
      const call = this.client.FetchCheckpoint({ workerId, generation }, { deadline: Date.now() + CHECKPOINT_UPLOAD_TIMEOUT_MS });
      const parts: Buffer[] = [];
      let received = 0;
      let total = -1;
      let step = -1;
      call.on('data', (chunk: CheckpointChunk__Output) => {
        if (Number(chunk.offset) !== received) {
          call.cancel();
          reject(new Error(`checkpoint download: chunk at offset ${Number(chunk.offset)}, expected ${received}`));
          return;
        }
        total = Number(chunk.totalBytes);
        step = Number(chunk.step);
        parts.push(chunk.data);
        received += chunk.data.length;
      });
      call.on('error', reject);
      call.on('end', () => {
        if (received !== total) reject(new Error(`checkpoint download ended at ${received} of ${total} bytes`));
        else resolve({ step, bytes: Buffer.concat(parts, received) });
      });
    });
  }

  /** Stream an encoded checkpoint in chunks (client streaming). */
  uploadCheckpoint(workerId: string, generation: number, step: number, bytes: Buffer): Promise<CheckpointAck__Output> {
    return new Promise((resolve, reject) => {
      const stream = this.client.UploadCheckpoint({ deadline: Date.now() + CHECKPOINT_UPLOAD_TIMEOUT_MS }, (err, ack) => (err === null && ack !== undefined ? resolve(ack) : reject(err ?? new Error('empty response'))));
      for (let offset = 0; offset < bytes.length; offset += CHECKPOINT_CHUNK_BYTES) {
        stream.write({ workerId, generation, step, offset, totalBytes: bytes.length, data: bytes.subarray(offset, offset + CHECKPOINT_CHUNK_BYTES) });
      }
      stream.end();
    });
  }

  /**
   * Cancel every unary call in flight (they fail with CANCELLED): the coordinator is gone or a
   * peer was lost, and a plan or report call must not sit out its whole deadline on a dead link.
   */
  cancelInFlight(): void {
    for (const call of [...this.inFlight]) call.cancel();
    this.inFlight.clear();
  }

  close(): void {
    this.client.close();
  }
}

/** Copy little-endian bytes into an aligned typed array. */
export function int32FromBytes(b: Buffer): Int32Array {
  const out = new Int32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function float64FromBytes(b: Buffer): Float64Array {
  const out = new Float64Array(b.length / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export type { Assignment__Output as Assignment };
