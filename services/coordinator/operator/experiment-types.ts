/**
 * The Experiment custom resource (`encourage.dev/v1alpha1`) and the names the operator gives the
 * objects it creates — the shared contract of the CRD, the Helm chart and the operator
 * (docs/kubernetes-operator.md). Objects read from the API are typed structurally and loosely:
 * an Experiment's spec is untrusted user input until `resolveExperimentSpec` has validated it.
 */

export const EXPERIMENT_GROUP = 'encourage.dev';
export const EXPERIMENT_VERSION = 'v1alpha1';
export const EXPERIMENT_API_VERSION = `${EXPERIMENT_GROUP}/${EXPERIMENT_VERSION}`;
export const EXPERIMENT_KIND = 'Experiment';
export const EXPERIMENT_PLURAL = 'experiments';

/** Held while the run still needs a final checkpoint and cleanup (finalizer.ts). */
export const EXPERIMENT_FINALIZER = 'encourage.dev/final-checkpoint';

/** Labels on every object of an experiment (Kubernetes recommended labels plus our own). */
export const LABEL_APP_NAME = 'app.kubernetes.io/name';
export const LABEL_APP_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_APP_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_EXPERIMENT = 'encourage.dev/experiment';
export const LABEL_REPLICA_INDEX = 'encourage.dev/replica-index';
export const APP_NAME = 'encourage';

/**
 * UIDs of the pods of this experiment that failed and were replaced, comma-separated: the
 * operator's count against `runPolicy.backoffLimit`. An annotation rather than a status field
 * because every status field belongs to the contract (the CRD schema prunes others), and keyed
 * by UID so that a retried reconcile never counts one failure twice.
 */
export const ANNOTATION_FAILED_PODS = 'encourage.dev/failed-pods';

export const COORDINATOR_GRPC_PORT = 7070;
export const COORDINATOR_METRICS_PORT = 9090;
export const WORKER_COLLECTIVE_PORT = 7071;
export const WORKER_METRICS_PORT = 9091;

/** ServiceAccount of coordinator pods: may only get/patch experiments/status (docs/kubernetes-operator.md). */
export const COORDINATOR_SERVICE_ACCOUNT = 'encourage-coordinator';
/** Key of the join token in the experiment's Secret. */
export const JOIN_TOKEN_KEY = 'token';

export const PHASES = ['Pending', 'Running', 'Restarting', 'Succeeded', 'Failed'] as const;
export type ExperimentPhase = (typeof PHASES)[number];
export const CONDITION_TYPES = ['Created', 'Running', 'Restarting', 'Succeeded', 'Failed', 'Invalid'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** A timestamp as it arrives: an RFC 3339 string on the wire, a Date from client-node's typed lists. */
export type Timestamp = string | Date;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: Timestamp;
  deletionTimestamp?: Timestamp;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface ExperimentCondition {
  type: ConditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface ExperimentStatus {
  phase?: ExperimentPhase;
  conditions?: ExperimentCondition[];
  // Written by the coordinator (status-writer.ts).
  epoch?: number;
  step?: number;
  testAccuracy?: number;
  bestTestAccuracy?: number;
  restarts?: number;
  lastCheckpoint?: { step: number; path: string; time: string };
  // Written by the operator.
  workersReady?: number;
  workersDesired?: number;
  ready?: string;
  selector?: string;
  startTime?: string;
  completionTime?: string;
  observedGeneration?: number;
}

export interface Experiment {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: ExperimentStatus;
}

/** The parts of a Pod the operator reads (the builders produce full Pods). */
export interface PodLike {
  metadata: ObjectMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    startTime?: Timestamp;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; state?: { terminated?: { exitCode: number; reason?: string; finishedAt?: Timestamp } } }[];
  };
}

/** Services and Secrets: the operator only needs their identity. */
export interface OwnedObject {
  metadata: ObjectMeta;
}

/** `namespace/name`, the work-queue key of an experiment. */
export function experimentKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Split a `namespace/name` key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Milliseconds since the epoch of a timestamp in either form (null when absent or unparsable). */
export function timestampMs(t: Timestamp | undefined): number | null {
  if (t === undefined) return null;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

/** RFC 3339 in whole seconds, the form Kubernetes uses for `metav1.Time`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Names of the objects of experiment `name` (the contract's naming). */
export const objectNames = {
  joinSecret: (name: string) => `${name}-join-token`,
  coordinatorPod: (name: string) => `${name}-coordinator`,
  coordinatorService: (name: string) => `${name}-coordinator`,
  workersService: (name: string) => `${name}-workers`,
  workerPod: (name: string, index: number) => `${name}-worker-${index}`,
};
