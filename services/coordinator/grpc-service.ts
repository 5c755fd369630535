/**
 * gRPC binding of the Coordinator (proto/encourage/v1/coordinator.proto) plus the standard
 * `grpc.health.v1` service. Errors become gRPC statuses here and only here.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { loadGrpcObject } from '../core/proto/proto-loader.js';
import type { ProtoGrpcType } from '../core/proto/generated/coordinator.js';
import type { CoordinatorHandlers } from '../core/proto/generated/encourage/v1/Coordinator.js';
import type { CheckpointChunk__Output } from '../core/proto/generated/encourage/v1/CheckpointChunk.js';
import { MAX_CHECKPOINT_BYTES, MAX_MESSAGE_BYTES, WAIT_ASSIGNMENT_MAX_MS } from './config.js';
import type { Coordinator } from './coordinator.js';
import { BadReportError, grpcStatusOf } from './errors.js';
import type { RoundReason } from './rendezvous/membership.js';
import { serverCredentials, loadTls, tlsMode } from '../core/tls.js';

const ROUND_REASONS: readonly RoundReason[] = ['membership-change', 'peer-failure', 'coordinator-lost', 'worker-lost'];
/** Chunk size of a streamed checkpoint download. */
const CHECKPOINT_CHUNK_BYTES = 1024 * 1024;

export const COORDINATOR_SERVICE_NAME = 'encourage.v1.Coordinator';

/** Load the coordinator's service definition and client constructor. */
export function loadCoordinatorProto(): ProtoGrpcType['encourage']['v1'] {
  return loadGrpcObject<ProtoGrpcType>(['encourage/v1/coordinator.proto']).encourage.v1;
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;

/** Log a handler error and turn it into the status the client sees (the one place errors map to gRPC). */
function toServiceError(err: unknown, logger: Logger, method: string): grpc.ServiceError {
  const code = grpcStatusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === grpc.status.INTERNAL) logger.error({ err, method }, 'coordinator handler failed');
  else logger.warn({ method, code: grpc.status[code], message }, 'request rejected');
  return { code, details: message, name: 'Error', message, metadata: new grpc.Metadata() };
}

function fail<T>(callback: Callback<T>, err: unknown, logger: Logger, method: string): void {
  callback(toServiceError(err, logger, method));
}

/** Wrap an async unary handler with the error mapping. */
function unary<Req, Res>(method: string, logger: Logger, fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: Callback<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then((res) => callback(null, res), (err: unknown) => fail(callback, err, logger, method));
  };
}

/** Milliseconds until the call's deadline (bounded), for long polls. */
function remainingMs(call: grpc.ServerUnaryCall<unknown, unknown>, max: number): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return Number.isFinite(at) && at > 0 ? Math.max(0, Math.min(max, at - Date.now() - 250)) : max;
}

function int32Bytes(a: Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Build the handlers of the Coordinator service. */
export function coordinatorHandlers(c: Coordinator, logger: Logger): CoordinatorHandlers {
  return {
    Register: unary('Register', logger, (req) => {
      const w = req.worker;
      if (w === null || w === undefined) throw new BadReportError('is required', 'worker', null);
      const workerId = c.register({
        collectiveAddress: w.collectiveAddress, pod: w.pod, localIndex: w.localIndex, backend: w.backend, device: w.device,
        joinToken: req.joinToken, configFingerprint: w.configFingerprint, trainExamples: w.trainExamples, testExamples: w.testExamples,
      });
      return { workerId, heartbeatIntervalMs: c.settings.heartbeatIntervalMs };
    }),
    DescribeRun: unary('DescribeRun', logger, (req) => c.describe(req.joinToken)),
    WaitAssignment: unary('WaitAssignment', logger, async (req, call) => {
      const reason = ROUND_REASONS.includes(req.reason as RoundReason) ? (req.reason as RoundReason) : 'peer-failure';
      const v = await c.waitAssignment(req.workerId, Number(req.knownGeneration), remainingMs(call, WAIT_ASSIGNMENT_MAX_MS), Number(req.appliedStep), reason, req.suspect);
      return {
        generation: v.generation, assigned: v.assigned, rank: v.rank, worldSize: v.worldSize, ring: [...v.ring], finished: v.finished,
        startEpoch: v.start?.epoch ?? 0, startStep: v.start?.step ?? 0, startPosition: v.start?.position ?? 0,
        stateSourceRank: v.stateSourceRank ?? -1, restoreFromCheckpoint: v.restoreFromCheckpoint ?? false, stop: v.stop,
      };
    }),
    Heartbeat: unary('Heartbeat', logger, (req) => c.heartbeat(req.workerId)),
    GetEpochPlan: unary('GetEpochPlan', logger, (req) => {
      const p = c.plan(req.workerId, Number(req.generation), req.epoch);
      return {
        generation: Number(req.generation), epoch: p.epoch, trainIndices: int32Bytes(p.trainIndices), batchSize: c.config.batchSize,
        learningRates: Buffer.from(p.learningRates.buffer), firstStep: p.firstStep, evalIndices: int32Bytes(p.evalIndices), evaluate: p.evaluate, checkpointAtEnd: p.checkpointAtEnd,
        startPosition: p.startPosition, stepExamples: int32Bytes(p.stepExamples), epochSamples: p.epochSamples,
      };
    }),
    ReportStep: unary('ReportStep', logger, async (r) => {
      await c.reportStep(r.workerId, Number(r.generation), {
        rank: r.rank, step: Number(r.step), epoch: r.epoch, examples: r.examples, lossSum: r.lossSum, baseSum: r.baseSum, bonusSum: r.bonusSum,
        correct: r.correct, binCounts: r.binCounts, binGradNormSums: r.binGradNormSums, marginSum: r.marginSum, pySum: r.pySum,
        paramGradNormHigh: r.paramGradNormHigh, paramGradNormLow: r.paramGradNormLow, learningRate: r.learningRate,
        dataSeconds: r.dataSeconds, computeSeconds: r.computeSeconds, allreduceSeconds: r.allreduceSeconds, allreduceTotalSeconds: r.allreduceTotalSeconds, updateSeconds: r.updateSeconds,
        allreduceBytes: Number(r.allreduceBytes), indexSum: r.indexSum, skipped: r.skipped,
      });
      return { generation: c.membership.generation, ...c.pendingFlags() };
    }),
    ReportEval: unary('ReportEval', logger, async (r) => {
      await c.reportEval(r.workerId, Number(r.generation), {
        rank: r.rank, epoch: r.epoch, examples: r.examples, lossSum: r.lossSum, baseSum: r.baseSum, bonusSum: r.bonusSum,
        correct: r.correct, binExamples: r.binExamples, binCorrect: r.binCorrect, paramsDigest: r.paramsDigest,
      });
      return { generation: c.membership.generation, ...c.pendingFlags() };
    }),
    UploadCheckpoint: (call, callback) => {
      const parts: Buffer[] = [];
      let received = 0;
      let first: CheckpointChunk__Output | null = null;
      let failed = false;
      call.on('data', (chunk: CheckpointChunk__Output) => {
        if (failed) return;
        try {
          first ??= chunk;
          const total = Number(chunk.totalBytes);
          if (total > MAX_CHECKPOINT_BYTES) throw new BadReportError(`exceeds the limit of ${MAX_CHECKPOINT_BYTES} bytes`, 'totalBytes', total);
          if (Number(chunk.offset) !== received) throw new BadReportError(`out of order, expected offset ${received}`, 'offset', Number(chunk.offset));
          if (received + chunk.data.length > total) throw new BadReportError(`more data than the announced ${total} bytes`, 'data', received + chunk.data.length);
          parts.push(chunk.data);
          received += chunk.data.length;
        } catch (err) {
          failed = true;
          fail(callback, err, logger, 'UploadCheckpoint');
        }
      });
      call.on('end', () => {
        if (failed) return;
        if (first === null) return fail(callback, new BadReportError('no chunks', 'stream', 0), logger, 'UploadCheckpoint');
        const head = first as CheckpointChunk__Output;
        if (received !== Number(head.totalBytes)) return fail(callback, new BadReportError(`stream ended early, announced ${Number(head.totalBytes)}`, 'bytes', received), logger, 'UploadCheckpoint');
        c.saveCheckpoint(head.workerId, Number(head.generation), Number(head.step), Buffer.concat(parts, received)).then(
          (saved) => callback(null, { step: Number(head.step), path: saved.path, bytes: saved.bytes }),
          (err: unknown) => fail(callback, err, logger, 'UploadCheckpoint'),
        );
      });
    },
    Leave: unary('Leave', logger, (req) => {
      c.leave(req.workerId, req.reason, req.detail);
      return { generation: c.membership.generation };
    }),
    FetchCheckpoint: (call) => {
      const req = call.request;
      c.fetchCheckpoint(req.workerId, Number(req.generation)).then(
        ({ step, bytes }) => {
          for (let offset = 0; offset < bytes.length; offset += CHECKPOINT_CHUNK_BYTES) {
            call.write({ workerId: req.workerId, generation: req.generation, step, offset, totalBytes: bytes.length, data: bytes.subarray(offset, offset + CHECKPOINT_CHUNK_BYTES) });
          }
          call.end();
        },
        (err: unknown) => call.emit('error', toServiceError(err, logger, 'FetchCheckpoint')),
      );
    },
  };
}

/** How long a stopping server lets in-flight calls finish before it cuts them. */
export const SERVER_SHUTDOWN_GRACE_MS = 5_000;

/**
 * Stop a gRPC server: let in-flight calls finish for up to `graceMs`, then cut them. A client
 * that hangs (a SIGSTOPped worker holding a long poll open) must not keep the process alive.
 */
export function shutdownServer(server: grpc.Server, graceMs = SERVER_SHUTDOWN_GRACE_MS): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Start a gRPC server for `c` on host:port (port 0: ephemeral); resolves with the bound port. */
export async function startCoordinatorServer(c: Coordinator, logger: Logger): Promise<{ server: grpc.Server; port: number; health: HealthImplementation }> {
  const proto = loadCoordinatorProto();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  server.addService(proto.Coordinator.service, coordinatorHandlers(c, logger));
  const health = new HealthImplementation({ '': 'SERVING', [COORDINATOR_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${c.settings.host}:${c.settings.port}`, serverCredentials(loadTls(c.settings.tls)), (err, p) => (err === null ? resolve(p) : reject(err)));
  });
  logger.info({ host: c.settings.host, port, tls: tlsMode(c.settings.tls) }, 'coordinator listening');
  return { server, port, health };
}
