/**
 * What deleting an Experiment does while the `encourage.dev/final-checkpoint` finalizer holds it
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/): first the
 * coordinator pod is deleted gracefully — the kubelet SIGTERMs it and the coordinator stops the run
 * at a step boundary with a final checkpoint, which needs the workers still running — then, once
 * the coordinator has exited, the workers, Services and Secret are deleted and the finalizer is
 * removed, letting the API server delete the Experiment. A coordinator that never exits (its node
 * is gone) does not block deletion forever: after its grace period plus a margin, cleanup proceeds.
 */
import { COORDINATOR_TERMINATION_GRACE_SECONDS } from './coordinator-objects.js';
import { EXPERIMENT_FINALIZER, objectNames, timestampMs } from './experiment-types.js';
import { EMPTY_PLAN, podTerminal, terminating, type PlannedAction, type PlannedEvent, type ReconcileInput, type ReconcilePlan } from './reconcile-plan.js';

/** After this long since the deletion request the finalizer stops waiting for the coordinator. */
export const FINALIZE_TIMEOUT_MS = (COORDINATOR_TERMINATION_GRACE_SECONDS + 60) * 1000;
/** How often to look again while the coordinator shuts down (its pod's DELETED event normally comes first). */
export const FINALIZE_RECHECK_MS = 2_000;

/** Plan one step of the deletion of `input.experiment` (which has a deletionTimestamp). */
export function planFinalize(input: ReconcileInput): ReconcilePlan {
  const exp = input.experiment;
  if (!(exp.metadata.finalizers ?? []).includes(EXPERIMENT_FINALIZER)) return EMPTY_PLAN;
  const name = exp.metadata.name!;
  const coordinator = input.pods.find((p) => p.metadata.name === objectNames.coordinatorPod(name));
  const sinceMs = timestampMs(exp.metadata.deletionTimestamp) ?? input.nowMs;
  const overdue = input.nowMs - sinceMs > FINALIZE_TIMEOUT_MS;
  if (coordinator !== undefined && !podTerminal(coordinator) && !overdue) {
    if (terminating(coordinator)) return { ...EMPTY_PLAN, requeueAfterMs: FINALIZE_RECHECK_MS };
    return {
      ...EMPTY_PLAN,
      actions: [{ op: 'delete', resource: 'pods', name: coordinator.metadata.name!, why: 'experiment deleted: final checkpoint' }],
      events: [{ type: 'Normal', reason: 'FinalCheckpoint', message: `stopping coordinator ${coordinator.metadata.name} (SIGTERM) so that it writes a final checkpoint` }],
      requeueAfterMs: FINALIZE_RECHECK_MS,
    };
  }
  const actions: PlannedAction[] = [
    ...input.pods.filter((p) => !terminating(p)).map((p) => ({ op: 'delete' as const, resource: 'pods' as const, name: p.metadata.name!, why: 'experiment deleted' })),
    ...input.services.filter((s) => !terminating(s)).map((s) => ({ op: 'delete' as const, resource: 'services' as const, name: s.metadata.name!, why: 'experiment deleted' })),
    ...input.secrets.filter((s) => !terminating(s)).map((s) => ({ op: 'delete' as const, resource: 'secrets' as const, name: s.metadata.name!, why: 'experiment deleted' })),
  ];
  const events: PlannedEvent[] = [
    overdue && coordinator !== undefined && !podTerminal(coordinator)
      ? { type: 'Warning', reason: 'FinalizeTimeout', message: `coordinator ${coordinator.metadata.name} did not exit within ${FINALIZE_TIMEOUT_MS / 1000} s; cleaning up without a final checkpoint` }
      : { type: 'Normal', reason: 'CleanedUp', message: `deleted ${actions.length} objects; removing finalizer ${EXPERIMENT_FINALIZER}` },
  ];
  return { ...EMPTY_PLAN, actions, events, finalizer: 'remove' };
}
