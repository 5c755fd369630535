/**
 * The reconcile decision, as a pure function: from an Experiment and the objects it controls
 * (as the informers see them) to the actions that move the world toward the spec and the status
 * that describes it. Level-triggered, like every Kubernetes controller: it never depends on which
 * event woke it, so a resync, a retry after an error or an operator restart all converge the same
 * way. reconciler.ts applies the plan; finalizer.ts plans deletion.
 */
import type { V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { ConfigError } from '../../core/errors.js';
import { buildCoordinatorPod, buildCoordinatorService, buildJoinSecret } from './coordinator-objects.js';
import { resolveExperimentSpec, type CleanPodPolicy, type ResolvedExperiment } from './experiment-spec.js';
import { conditionsForPhase, podReady, setCondition, statusChanges, type OperatorStatus } from './experiment-status.js';
import {
  ANNOTATION_FAILED_PODS,
  EXPERIMENT_FINALIZER,
  LABEL_REPLICA_INDEX,
  objectNames,
  rfc3339,
  timestampMs,
  type Experiment,
  type ExperimentPhase,
  type OwnedObject,
  type PodLike,
} from './experiment-types.js';
import { planFinalize } from './finalizer.js';
import { workerSelectorString, type BuildSettings } from './object-meta.js';
import { buildWorkerPod, buildWorkersService } from './worker-objects.js';

export type ChildResource = 'pods' | 'services' | 'secrets';
export type PlannedAction =
  | { readonly op: 'create'; readonly resource: ChildResource; readonly object: V1Pod | V1Service | V1Secret }
  | { readonly op: 'delete'; readonly resource: ChildResource; readonly name: string; readonly why: string };
export interface PlannedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface ReconcileInput {
  readonly experiment: Experiment;
  /** Pods, Services and Secrets whose controller reference is this Experiment. */
  readonly pods: readonly PodLike[];
  readonly services: readonly OwnedObject[];
  readonly secrets: readonly OwnedObject[];
  readonly nowMs: number;
  readonly settings: BuildSettings;
  /** Draws a fresh join token (32 random bytes, hex). */
  readonly newToken: () => string;
}

export interface ReconcilePlan {
  readonly finalizer: 'add' | 'remove' | null;
  /** UIDs of failed pods to add to the failure annotation before acting. */
  readonly recordFailedPods: readonly string[];
  readonly actions: readonly PlannedAction[];
  readonly events: readonly PlannedEvent[];
  /** Operator-owned status fields that changed (null: none). */
  readonly status: OperatorStatus | null;
  readonly requeueAfterMs: number | null;
}

export const EMPTY_PLAN: ReconcilePlan = { finalizer: null, recordFailedPods: [], actions: [], events: [], status: null, requeueAfterMs: null };

/** Pods the API server is already deleting (graceful termination in progress). */
export function terminating(o: OwnedObject): boolean {
  return o.metadata.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null;
}

export function podTerminal(p: PodLike): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

/** "exit code 137 (OOMKilled)" from a terminated pod's container status. */
export function exitDescription(p: PodLike): string {
  const t = p.status?.containerStatuses?.[0]?.state?.terminated;
  return t === undefined ? 'no exit status' : `exit code ${t.exitCode}${t.reason === undefined ? '' : ` (${t.reason})`}`;
}

/** UIDs recorded in the failure annotation. */
export function recordedFailures(exp: Experiment): string[] {
  const v = exp.metadata.annotations?.[ANNOTATION_FAILED_PODS];
  return v === undefined || v === '' ? [] : v.split(',');
}

/** Decide what to do for one Experiment. */
export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const exp = input.experiment;
  if (terminating(exp)) return planFinalize(input);
  const nowIso = rfc3339(input.nowMs);
  let resolved: ResolvedExperiment;
  try {
    resolved = resolveExperimentSpec(exp, input.settings.defaultBackend);
  } catch (err) {
    if (err instanceof ConfigError) return planInvalid(input, err, nowIso);
    throw err;
  }
  const prev = exp.status ?? {};
  const conditions = setCondition(prev.conditions ?? [], 'Invalid', false, 'SpecValid', 'the spec is valid', nowIso);
  const failedCondition = prev.conditions?.find((c) => c.type === 'Failed');
  // A spec rejected before it ever ran may be fixed: a valid new generation starts the run.
  const revived = prev.phase === 'Failed' && failedCondition?.reason === 'InvalidSpec';
  if ((prev.phase === 'Succeeded' || prev.phase === 'Failed') && !revived) return planTerminal(input, resolved, conditions, prev.phase);
  return planActive(input, resolved, conditions, nowIso);
}

function planInvalid(input: ReconcileInput, err: ConfigError, nowIso: string): ReconcilePlan {
  const exp = input.experiment;
  const prev = exp.status ?? {};
  const wasInvalid = prev.conditions?.find((c) => c.type === 'Invalid' && c.status === 'True');
  let conditions = setCondition(prev.conditions ?? [], 'Invalid', true, 'InvalidSpec', err.message, nowIso);
  const started = prev.startTime !== undefined || input.pods.length > 0;
  // Never started: the experiment fails. Running: an invalid edit is reported and not applied —
  // the pods keep running as they are until the spec is fixed.
  const phase: ExperimentPhase | undefined = started ? prev.phase : 'Failed';
  if (!started) conditions = conditionsForPhase(conditions, 'Failed', 'InvalidSpec', err.message, nowIso);
  const events: PlannedEvent[] = wasInvalid?.message === err.message ? [] : [{ type: 'Warning', reason: 'InvalidSpec', message: err.message }];
  const status = statusChanges(prev, { ...(phase === undefined ? {} : { phase }), conditions, observedGeneration: exp.metadata.generation });
  return { ...EMPTY_PLAN, events, status };
}

/** Delete what `policy` says once the run is over (Kubeflow's cleanPodPolicy semantics). */
function cleanupActions(pods: readonly PodLike[], policy: CleanPodPolicy, why: string): PlannedAction[] {
  if (policy === 'None') return [];
  return pods
    .filter((p) => !terminating(p) && (policy === 'All' || !podTerminal(p)))
    .map((p) => ({ op: 'delete', resource: 'pods', name: p.metadata.name!, why }));
}

function podEvents(actions: readonly PlannedAction[]): PlannedEvent[] {
  return actions.map((a) =>
    a.op === 'create'
      ? { type: 'Normal', reason: 'SuccessfulCreate', message: `Created ${a.resource.slice(0, -1)}: ${a.object.metadata!.name}` }
      : { type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted ${a.resource.slice(0, -1)}: ${a.name} (${a.why})` },
  );
}

function workerCounts(input: ReconcileInput, r: ResolvedExperiment): Pick<OperatorStatus, 'workersReady' | 'workersDesired' | 'ready' | 'selector'> {
  const coordinator = objectNames.coordinatorPod(r.name);
  const ready = input.pods.filter((p) => p.metadata.name !== coordinator && !terminating(p) && podReady(p)).length;
  return { workersReady: ready, workersDesired: r.workers.replicas, ready: `${ready}/${r.workers.replicas}`, selector: workerSelectorString(r.name) };
}

function planTerminal(input: ReconcileInput, r: ResolvedExperiment, conditions: ReturnType<typeof setCondition>, phase: ExperimentPhase): ReconcilePlan {
  const prev = input.experiment.status ?? {};
  const actions = cleanupActions(input.pods, r.runPolicy.cleanPodPolicy, `cleanPodPolicy ${r.runPolicy.cleanPodPolicy}`);
  const status = statusChanges(prev, { phase, conditions, ...workerCounts(input, r), observedGeneration: input.experiment.metadata.generation });
  return { ...EMPTY_PLAN, actions, events: podEvents(actions), status };
}

function planActive(input: ReconcileInput, r: ResolvedExperiment, startConditions: ReturnType<typeof setCondition>, nowIso: string): ReconcilePlan {
  const exp = input.experiment;
  const prev = exp.status ?? {};
  const actions: PlannedAction[] = [];
  const events: PlannedEvent[] = [];
  const has = (list: readonly OwnedObject[], name: string) => list.some((o) => o.metadata.name === name);
  const create = (resource: ChildResource, object: V1Pod | V1Service | V1Secret) => actions.push({ op: 'create', resource, object });

  if (!has(input.secrets, objectNames.joinSecret(r.name))) create('secrets', buildJoinSecret(r, input.newToken()));
  if (!has(input.services, objectNames.coordinatorService(r.name))) create('services', buildCoordinatorService(r));
  if (!has(input.services, objectNames.workersService(r.name))) create('services', buildWorkersService(r));

  // Failures: pods we want that failed, recorded once each (by UID) against the backoff limit.
  const known = new Set(recordedFailures(exp));
  const newFailures: string[] = [];
  const failureMessages: string[] = [];
  const coordinatorName = objectNames.coordinatorPod(r.name);
  const coordinator = input.pods.find((p) => p.metadata.name === coordinatorName);
  const workers = new Map<number, PodLike>();
  for (const p of input.pods) {
    if (p.metadata.name === coordinatorName) continue;
    const index = Number(p.metadata.labels?.[LABEL_REPLICA_INDEX]);
    if (Number.isInteger(index) && index >= 0 && index < r.workers.replicas && p.metadata.name === objectNames.workerPod(r.name, index)) workers.set(index, p);
    else if (!terminating(p)) actions.push({ op: 'delete', resource: 'pods', name: p.metadata.name!, why: `scaled to ${r.workers.replicas} workers` });
  }
  const wanted = [...(coordinator === undefined ? [] : [coordinator]), ...workers.values()];
  for (const p of wanted) {
    if (terminating(p) || p.status?.phase !== 'Failed') continue;
    if (!known.has(p.metadata.uid!)) newFailures.push(p.metadata.uid!);
    failureMessages.push(`pod ${p.metadata.name} failed (${exitDescription(p)})`);
  }
  const failures = known.size + newFailures.length;
  const coordinatorSucceeded = coordinator !== undefined && coordinator.status?.phase === 'Succeeded';
  const startMs = timestampMs(prev.startTime) ?? input.nowMs;
  const deadlineMs = r.runPolicy.activeDeadlineSeconds === null ? null : startMs + r.runPolicy.activeDeadlineSeconds * 1000;

  let outcome: { phase: 'Succeeded' | 'Failed'; reason: string; message: string } | null = null;
  if (coordinatorSucceeded) outcome = { phase: 'Succeeded', reason: 'Completed', message: 'the coordinator finished the run' };
  else if (failures > r.runPolicy.backoffLimit) outcome = { phase: 'Failed', reason: 'BackoffLimitExceeded', message: `${failureMessages.join('; ')}: ${failures} pod failures exceed backoffLimit ${r.runPolicy.backoffLimit}` };
  else if (deadlineMs !== null && input.nowMs >= deadlineMs) outcome = { phase: 'Failed', reason: 'DeadlineExceeded', message: `the run was active longer than activeDeadlineSeconds ${r.runPolicy.activeDeadlineSeconds}` };

  let conditions = setCondition(startConditions, 'Created', true, 'ObjectsCreated', 'the join Secret, Services and pods were created', nowIso);
  if (outcome !== null) {
    // The deadline stops running pods whatever the policy says (as a Job's does).
    const policy: CleanPodPolicy = outcome.reason === 'DeadlineExceeded' && r.runPolicy.cleanPodPolicy === 'None' ? 'Running' : r.runPolicy.cleanPodPolicy;
    // Creations are dropped (the run is over); deletions are merged by pod name.
    const deletes = new Map<string, PlannedAction>();
    for (const a of [...actions, ...cleanupActions(input.pods, policy, `${outcome.reason}; cleanPodPolicy ${policy}`)]) if (a.op === 'delete' && !deletes.has(a.name)) deletes.set(a.name, a);
    const done = [...deletes.values()];
    conditions = conditionsForPhase(conditions, outcome.phase, outcome.reason, outcome.message, nowIso);
    const completionTime = outcome.phase === 'Succeeded' ? rfc3339(timestampMs(coordinator?.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt) ?? input.nowMs) : undefined;
    const status = statusChanges(prev, {
      phase: outcome.phase, conditions, ...workerCounts(input, r), startTime: prev.startTime ?? nowIso,
      ...(completionTime === undefined ? {} : { completionTime }), observedGeneration: exp.metadata.generation,
    });
    const phaseEvent: PlannedEvent = { type: outcome.phase === 'Succeeded' ? 'Normal' : 'Warning', reason: outcome.phase === 'Succeeded' ? 'Succeeded' : outcome.reason, message: outcome.message };
    return { finalizer: null, recordFailedPods: newFailures, actions: done, events: [...podEvents(done), ...(prev.phase === outcome.phase ? [] : [phaseEvent])], status, requeueAfterMs: null };
  }

  // Replace failed pods (delete now, create on a later pass once the name is free), create missing ones.
  for (const p of wanted) {
    if (!terminating(p) && p.status?.phase === 'Failed') {
      actions.push({ op: 'delete', resource: 'pods', name: p.metadata.name!, why: 'failed; it will be replaced' });
      events.push({ type: 'Warning', reason: 'PodFailed', message: `pod ${p.metadata.name} failed (${exitDescription(p)}); replacing it (failure ${failures} of backoffLimit ${r.runPolicy.backoffLimit})` });
    }
  }
  if (coordinator === undefined) create('pods', buildCoordinatorPod(r, input.settings));
  for (let i = 0; i < r.workers.replicas; i++) if (!workers.has(i)) create('pods', buildWorkerPod(r, i, input.settings));

  const coordinatorRunning = coordinator !== undefined && !terminating(coordinator) && coordinator.status?.phase === 'Running';
  const runningWorkers = [...workers.values()].filter((p) => !terminating(p) && p.status?.phase === 'Running').length;
  const active = coordinatorRunning && runningWorkers >= r.workers.minReplicas;
  // Workers that finished (the run is over) while the coordinator writes its summary: still Running.
  const finishing = coordinatorRunning && [...workers.values()].some((p) => p.status?.phase === 'Succeeded') && [...workers.values()].every((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Running');
  const wasActive = prev.phase === 'Running' || prev.phase === 'Restarting';
  const phase: ExperimentPhase = failureMessages.length > 0 ? 'Restarting' : active || (finishing && wasActive) ? 'Running' : wasActive ? 'Restarting' : 'Pending';
  const reason = phase === 'Running' ? 'Running' : phase === 'Restarting' ? 'PodReplaced' : 'Starting';
  const message =
    phase === 'Running' ? `coordinator and ${runningWorkers} of ${r.workers.replicas} workers running`
    : phase === 'Restarting' ? (failureMessages.length > 0 ? failureMessages.join('; ') : 'waiting for replaced pods to run')
    : `waiting for the coordinator and at least ${r.workers.minReplicas} workers to run`;
  conditions = conditionsForPhase(conditions, phase, reason, message, nowIso);
  const status = statusChanges(prev, { phase, conditions, ...workerCounts(input, r), startTime: prev.startTime ?? nowIso, observedGeneration: exp.metadata.generation });
  if (phase !== prev.phase && phase === 'Running') events.push({ type: 'Normal', reason: 'Running', message });
  const waiting = input.pods.some(terminating);
  const untilDeadline = deadlineMs === null ? null : Math.max(0, deadlineMs - input.nowMs);
  const requeueAfterMs = [untilDeadline, waiting ? TERMINATING_RECHECK_MS : null].filter((x): x is number => x !== null).reduce<number | null>((a, b) => (a === null ? b : Math.min(a, b)), null);
  return {
    finalizer: exp.metadata.finalizers?.includes(EXPERIMENT_FINALIZER) ? null : 'add',
    recordFailedPods: newFailures,
    actions,
    events: [...podEvents(actions), ...events],
    status,
    requeueAfterMs,
  };
}

/** How often to look again while pods are terminating (their DELETED event normally comes first). */
export const TERMINATING_RECHECK_MS = 5_000;
