/**
 * Metadata shared by every object the operator creates for an experiment: the labels (Kubernetes
 * recommended labels plus `encourage.dev/experiment`), the controller owner reference that makes the
 * garbage collector delete them with the Experiment, and the operator-wide build settings.
 */
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { BackendRequest } from '../../core/training/names.js';
import type { ResolvedExperiment } from './experiment-spec.js';
import {
  APP_NAME,
  EXPERIMENT_API_VERSION,
  EXPERIMENT_KIND,
  LABEL_APP_COMPONENT,
  LABEL_APP_INSTANCE,
  LABEL_APP_NAME,
  LABEL_EXPERIMENT,
  type OwnerReference,
} from './experiment-types.js';

export type Component = 'coordinator' | 'worker';

/** Operator-wide inputs of the builders (flags of `encourage operator`). */
export interface BuildSettings {
  /** CPU image; also the coordinator's image unless the spec names one. */
  readonly image: string;
  /** GPU image (Vulkan loader for webgpu; docs/gpu.md) for workers with `gpusPerPod > 0`, unless the spec names one. */
  readonly gpuImage: string;
  /** Backend of Experiments whose spec has none (`--default-backend`; the CRD has no static default). */
  readonly defaultBackend: BackendRequest;
  readonly coordinatorServiceAccount: string;
  /** Bind servers to the pod IP instead of all interfaces (coordinator-flags.ts). */
  readonly bindPodIp: boolean;
  /**
   * TLS for the experiment's own gRPC traffic (coordinator ↔ workers ↔ workers): a
   * kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) of this name in each experiment namespace,
   * mounted read-only into every pod (null: plaintext inside the cluster).
   */
  readonly tls: ExperimentTls | null;
}

export interface ExperimentTls {
  readonly secretName: string;
  readonly mutual: boolean;
  /** The name the pods' certificates carry (pods dial each other by IP). */
  readonly serverName: string | null;
}

/** Where experiment pods find the TLS Secret (the directory `--tls-dir` / ENCOURAGE_TLS_DIR reads). */
export const EXPERIMENT_TLS_DIR = '/etc/encourage/tls';

/** Env, mount and volume that give a pod the run's TLS material (none without TLS). */
export function tlsPodParts(tls: ExperimentTls | null): { env: V1EnvVar[]; mounts: V1VolumeMount[]; volumes: V1Volume[] } {
  if (tls === null) return { env: [], mounts: [], volumes: [] };
  return {
    env: [
      { name: 'ENCOURAGE_TLS_DIR', value: EXPERIMENT_TLS_DIR },
      ...(tls.mutual ? [{ name: 'ENCOURAGE_TLS_MUTUAL', value: 'true' }] : []),
      ...(tls.serverName === null ? [] : [{ name: 'ENCOURAGE_TLS_SERVER_NAME', value: tls.serverName }]),
    ],
    mounts: [{ name: 'tls', mountPath: EXPERIMENT_TLS_DIR, readOnly: true }],
    volumes: [{ name: 'tls', secret: { secretName: tls.secretName, defaultMode: 0o440 } }],
  };
}

/** Labels of experiment `name`'s objects of `component` (none: objects shared by both, e.g. the Secret). */
export function experimentLabels(name: string, component?: Component): Record<string, string> {
  return {
    [LABEL_APP_NAME]: APP_NAME,
    [LABEL_APP_INSTANCE]: name,
    ...(component === undefined ? {} : { [LABEL_APP_COMPONENT]: component }),
    [LABEL_EXPERIMENT]: name,
  };
}

/** Selector labels of a component's pods (what the Services select). */
export function componentSelector(name: string, component: Component): Record<string, string> {
  return { [LABEL_EXPERIMENT]: name, [LABEL_APP_COMPONENT]: component };
}

/** The worker pods' label selector as a string: `status.selector`, read by the scale subresource (HPA). */
export function workerSelectorString(name: string): string {
  return Object.entries(componentSelector(name, 'worker')).map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * The controller reference to the Experiment. `blockOwnerDeletion` makes foreground deletion wait
 * for the object; setting it requires `update` on `experiments/finalizers` where the
 * OwnerReferencesPermissionEnforcement admission plugin is on — hence that RBAC rule.
 */
export function ownerReference(r: Pick<ResolvedExperiment, 'name' | 'uid'>): OwnerReference {
  return { apiVersion: EXPERIMENT_API_VERSION, kind: EXPERIMENT_KIND, name: r.name, uid: r.uid, controller: true, blockOwnerDeletion: true };
}

/** `metadata` of an object named `objectName` owned by experiment `r`. */
export function ownedMetadata(r: ResolvedExperiment, objectName: string, component?: Component, extraLabels: Record<string, string> = {}) {
  return {
    name: objectName,
    namespace: r.namespace,
    labels: { ...experimentLabels(r.name, component), ...extraLabels },
    ownerReferences: [ownerReference(r)],
  };
}

/** The experiment UID an object's controller reference points to (null: not controlled by an Experiment). */
export function controllerUid(meta: { ownerReferences?: OwnerReference[] }): string | null {
  const ref = meta.ownerReferences?.find((o) => o.controller === true && o.kind === EXPERIMENT_KIND && o.apiVersion.startsWith('encourage.dev/'));
  return ref?.uid ?? null;
}
