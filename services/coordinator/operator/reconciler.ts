/**
 * Applies a reconcile plan through the API: finalizer and failure bookkeeping first (so nothing is
 * created that deletion would not clean up, and no failure is acted on before it is counted), then
 * creations and deletions, then status (first, for a terminal phase), then events. Every metadata/status write carries the
 * resourceVersion it was computed from, so a decision made on a stale cache is refused with 409 and
 * retried on fresh data instead of overwriting newer state.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { KubeApiError } from '../errors.js';
import { ANNOTATION_FAILED_PODS, EXPERIMENT_FINALIZER, splitKey, type Experiment, type OwnedObject, type PodLike } from './experiment-types.js';
import { isConflict, isNotFound, wrapApiError, type KubeApi } from './kube-api.js';
import { controllerUid, type BuildSettings } from './object-meta.js';
import { planReconcile, recordedFailures, type ReconcilePlan } from './reconcile-plan.js';

/** What the informers know: the Experiment and the objects labelled with its name. */
export interface ObservedState {
  experiment(namespace: string, name: string): Experiment | undefined;
  pods(namespace: string, experiment: string): readonly PodLike[];
  services(namespace: string, experiment: string): readonly OwnedObject[];
  secrets(namespace: string, experiment: string): readonly OwnedObject[];
}

export interface ReconcilerDeps {
  readonly api: KubeApi;
  readonly observed: ObservedState;
  readonly settings: BuildSettings;
  readonly logger: Logger;
  /** Event source component name. */
  readonly component: string;
  readonly now?: () => number;
}

export interface ReconcileResult {
  readonly requeueAfterMs: number | null;
  readonly plan: ReconcilePlan | null;
}

/** Reconcile the Experiment `namespace/name` once. Throws KubeApiError on failure (the queue retries). */
export async function reconcileExperiment(deps: ReconcilerDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const exp = deps.observed.experiment(namespace, name);
  // Gone: its objects carry owner references, so the garbage collector deletes them.
  if (exp === undefined) return { requeueAfterMs: null, plan: null };
  const uid = exp.metadata.uid;
  // Only objects this incarnation controls: a same-named predecessor's leftovers are the GC's.
  const mine = <T extends OwnedObject>(list: readonly T[]) => list.filter((o) => controllerUid(o.metadata) === uid);
  const plan = planReconcile({
    experiment: exp,
    pods: mine(deps.observed.pods(namespace, name)),
    services: mine(deps.observed.services(namespace, name)),
    secrets: mine(deps.observed.secrets(namespace, name)),
    nowMs: (deps.now ?? Date.now)(),
    settings: deps.settings,
    newToken: () => randomBytes(32).toString('hex'),
  });
  await applyPlan(deps, exp, plan);
  return { requeueAfterMs: plan.requeueAfterMs, plan };
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrapApiError(err, operation);
  }
}

/** Apply `plan` to `exp`. */
export async function applyPlan(deps: ReconcilerDeps, exp: Experiment, plan: ReconcilePlan): Promise<void> {
  const { api, logger } = deps;
  const ns = exp.metadata.namespace ?? 'default';
  const name = exp.metadata.name!;
  const ref = `${ns}/${name}`;
  let resourceVersion = exp.metadata.resourceVersion;
  if (plan.finalizer === 'add') {
    const finalizers = [...(exp.metadata.finalizers ?? []), EXPERIMENT_FINALIZER];
    resourceVersion = (await call(`add finalizer to experiments ${ref}`, () => api.patchExperiment(ns, name, { metadata: { finalizers, resourceVersion } }))).metadata.resourceVersion;
  }
  if (plan.recordFailedPods.length > 0) {
    const value = [...recordedFailures(exp), ...plan.recordFailedPods].join(',');
    resourceVersion = (await call(`record pod failures on experiments ${ref}`, () => api.patchExperiment(ns, name, { metadata: { annotations: { [ANNOTATION_FAILED_PODS]: value }, resourceVersion } }))).metadata.resourceVersion;
  }
  // A terminal phase is recorded before its cleanup deletes the pods: were the deletes to land and
  // the status write to fail (409), the next pass would see a run without pods and recreate them.
  const writeStatus = async () => {
    if (plan.status === null) return;
    const status = plan.status;
    resourceVersion = (await call(`patch status of experiments ${ref}`, () => api.patchExperimentStatus(ns, name, { metadata: { resourceVersion }, status }))).metadata.resourceVersion;
  };
  const terminal = plan.status?.phase === 'Succeeded' || plan.status?.phase === 'Failed';
  if (terminal) await writeStatus();
  // Each action is attempted even when an earlier one fails, so one bad object does not starve the rest.
  let firstError: KubeApiError | null = null;
  for (const a of plan.actions) {
    const target = `${a.resource} ${ns}/${a.op === 'create' ? a.object.metadata!.name : a.name}`;
    try {
      if (a.op === 'create') await api.create(a.resource, ns, a.object);
      else await api.delete(a.resource, ns, a.name);
      logger.info({ experiment: ref, op: a.op, object: target, ...(a.op === 'delete' ? { why: a.why } : {}) }, `${a.op === 'create' ? 'created' : 'deleted'} ${target}`);
    } catch (err) {
      // Already there (a stale cache, or our own earlier attempt) / already gone: the goal is met.
      if ((a.op === 'create' && isConflict(err)) || (a.op === 'delete' && isNotFound(err))) continue;
      firstError ??= wrapApiError(err, `${a.op} ${target}`);
      logger.warn({ experiment: ref, err: firstError.message }, 'reconcile action failed');
    }
  }
  if (!terminal) await writeStatus();
  for (const e of plan.events) {
    api.createEvent(exp, e.type, e.reason, e.message, deps.component).catch((err: unknown) => logger.warn({ experiment: ref, reason: e.reason, err: (err as Error).message }, 'could not record event'));
  }
  if (firstError !== null) throw firstError;
  if (plan.finalizer === 'remove') {
    const finalizers = (exp.metadata.finalizers ?? []).filter((f) => f !== EXPERIMENT_FINALIZER);
    await call(`remove finalizer from experiments ${ref}`, () => api.patchExperiment(ns, name, { metadata: { finalizers, resourceVersion } })).catch((err: unknown) => {
      // Already deleted by someone else's finalizer removal: nothing left to do.
      if (err instanceof KubeApiError && err.statusCode === 404) return;
      throw err;
    });
    logger.info({ experiment: ref }, 'finalizer removed');
  }
}
