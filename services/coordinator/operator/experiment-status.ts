/**
 * The operator's half of `status`: phase, conditions, worker counts, selector and times. Conditions
 * follow the Kubernetes API conventions (one entry per type, `lastTransitionTime` changes only when
 * `status` flips); the coordinator's progress fields are never touched here (status-writer.ts owns
 * them), which is why the operator writes with merge patches naming only its own fields.
 */
import type { ConditionType, ExperimentCondition, ExperimentPhase, ExperimentStatus, PodLike } from './experiment-types.js';

/** The status fields the operator owns (every merge patch it sends sets all of them). */
export const OPERATOR_STATUS_FIELDS = ['phase', 'conditions', 'workersReady', 'workersDesired', 'ready', 'selector', 'startTime', 'completionTime', 'observedGeneration'] as const;
export type OperatorStatus = Pick<ExperimentStatus, (typeof OPERATOR_STATUS_FIELDS)[number]>;

/**
 * Set condition `type`. A condition not yet present is only added when it is True (absent means
 * "never happened"); `lastTransitionTime` moves only when the status flips.
 */
export function setCondition(conditions: readonly ExperimentCondition[], type: ConditionType, status: boolean, reason: string, message: string, nowIso: string): ExperimentCondition[] {
  const want = status ? 'True' : 'False';
  const existing = conditions.find((c) => c.type === type);
  if (existing === undefined) return status ? [...conditions, { type, status: want, reason, message, lastTransitionTime: nowIso }] : [...conditions];
  const updated: ExperimentCondition = { type, status: want, reason, message, lastTransitionTime: existing.status === want ? existing.lastTransitionTime : nowIso };
  return conditions.map((c) => (c.type === type ? updated : c));
}

/** Whether condition `type` is True. */
export function conditionTrue(status: ExperimentStatus | undefined, type: ConditionType): boolean {
  return status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/** A pod counts as ready when it runs and its Ready condition is True (no probe: ready when running). */
export function podReady(pod: PodLike): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
}

/** Phase condition bookkeeping: the one condition matching `phase` is True, the other phase conditions False. */
export function conditionsForPhase(conditions: readonly ExperimentCondition[], phase: ExperimentPhase, reason: string, message: string, nowIso: string): ExperimentCondition[] {
  let out = [...conditions];
  const phaseConditions: [ConditionType, ExperimentPhase][] = [
    ['Running', 'Running'],
    ['Restarting', 'Restarting'],
    ['Succeeded', 'Succeeded'],
    ['Failed', 'Failed'],
  ];
  for (const [type, p] of phaseConditions) {
    const on = p === phase;
    const current = out.find((c) => c.type === type);
    // Leave an already-False condition's reason alone: it records why it last turned off.
    if (!on && (current === undefined || current.status === 'False')) continue;
    out = setCondition(out, type, on, on ? reason : `Not${p}`, on ? message : `the experiment is ${phase}`, nowIso);
  }
  return out;
}

/** Deep equality of two JSON values (for "did the status change"). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The operator-owned fields of `status` that differ from `next` (null: nothing to write). */
export function statusChanges(current: ExperimentStatus | undefined, next: OperatorStatus): OperatorStatus | null {
  const changed: Record<string, unknown> = {};
  for (const f of OPERATOR_STATUS_FIELDS) {
    if (next[f] !== undefined && !jsonEqual(current?.[f], next[f])) changed[f] = next[f];
  }
  return Object.keys(changed).length === 0 ? null : (changed as OperatorStatus);
}
