/**
 * The data plane: the headless Service `<name>-workers` and the worker Pods `<name>-worker-<i>`.
 * Pods are created directly (as Kubeflow's PyTorchJob does) rather than through a StatefulSet, so the
 * operator can replace one failed pod, resize at any index and count failures against the run's
 * backoff limit; `hostname` + `subdomain` give each pod the stable DNS name a StatefulSet would
 * (`<name>-worker-<i>.<name>-workers.<ns>.svc`), and the replica-index label plays the ordinal.
 */
import type { V1EnvVar, V1Pod, V1ResourceRequirements, V1Service, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { DATA_MOUNT_PATH, workerArgs } from './coordinator-flags.js';
import { CONTAINER_SECURITY_CONTEXT, podIdentityEnv, POD_SECURITY_CONTEXT } from './coordinator-objects.js';
import type { ResolvedExperiment } from './experiment-spec.js';
import { COORDINATOR_GRPC_PORT, LABEL_REPLICA_INDEX, objectNames, WORKER_COLLECTIVE_PORT, WORKER_METRICS_PORT } from './experiment-types.js';
import { GPU_RESOURCE, workerGpuEnv } from './gpu-placement.js';
import { componentSelector, ownedMetadata, type BuildSettings, tlsPodParts } from './object-meta.js';

export const WORKER_TERMINATION_GRACE_SECONDS = 30;

/**
 * The headless Service of the workers. `publishNotReadyAddresses` publishes the pods' DNS records
 * as soon as they have an IP, so the rendezvous never waits on readiness (which, for a worker,
 * only comes with the rendezvous).
 */
export function buildWorkersService(r: ResolvedExperiment): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(r, objectNames.workersService(r.name), 'worker'),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: componentSelector(r.name, 'worker'),
      ports: [
        { name: 'collective', port: WORKER_COLLECTIVE_PORT, targetPort: WORKER_COLLECTIVE_PORT, protocol: 'TCP', appProtocol: 'grpc' },
        { name: 'metrics', port: WORKER_METRICS_PORT, targetPort: WORKER_METRICS_PORT, protocol: 'TCP' },
      ],
    },
  };
}

/** The coordinator's address as workers dial it: its Service's cluster DNS name. */
export function coordinatorAddress(r: Pick<ResolvedExperiment, 'name' | 'namespace'>): string {
  return `${objectNames.coordinatorService(r.name)}.${r.namespace}.svc:${COORDINATOR_GRPC_PORT}`;
}

function workerResources(r: ResolvedExperiment): V1ResourceRequirements | undefined {
  const base = (r.workers.resources ?? {}) as { limits?: Record<string, string>; requests?: Record<string, string> };
  if (r.workers.gpusPerPod === 0) return r.workers.resources === null ? undefined : (base as V1ResourceRequirements);
  // Extended resources are requested through limits (requests default to them).
  return { ...base, limits: { ...(base.limits ?? {}), [GPU_RESOURCE]: String(r.workers.gpusPerPod) } };
}

/** The dataset volume: the PVC, or an emptyDir each worker downloads CIFAR-10 into. None for synthetic data. */
function dataVolume(r: ResolvedExperiment): { volume: V1Volume; mount: V1VolumeMount } | null {
  if (r.dataset.source === 'synthetic') return null;
  const volume: V1Volume = r.dataset.pvc === null ? { name: 'data', emptyDir: {} } : { name: 'data', persistentVolumeClaim: { claimName: r.dataset.pvc.claimName } };
  return { volume, mount: { name: 'data', mountPath: DATA_MOUNT_PATH } };
}

/** Worker Pod `<name>-worker-<index>`. */
export function buildWorkerPod(r: ResolvedExperiment, index: number, settings: BuildSettings): V1Pod {
  const name = objectNames.workerPod(r.name, index);
  const env: V1EnvVar[] = [
    ...podIdentityEnv(r),
    // The pod ordinal, as a StatefulSet's would be, from the label the operator sets.
    { name: 'ENCOURAGE_REPLICA_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${LABEL_REPLICA_INDEX}']` } } },
    { name: 'ENCOURAGE_COORDINATOR', value: coordinatorAddress(r) },
    ...workerGpuEnv(r.train.backend, r.workers.gpusPerPod),
  ];
  const data = dataVolume(r);
  const tls = tlsPodParts(settings.tls);
  env.push(...tls.env);
  const mounts = [...(data === null ? [] : [data.mount]), ...tls.mounts];
  const volumes = [...(data === null ? [] : [data.volume]), ...tls.volumes];
  const resources = workerResources(r);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: ownedMetadata(r, name, 'worker', { [LABEL_REPLICA_INDEX]: String(index) }),
    spec: {
      hostname: name,
      subdomain: objectNames.workersService(r.name),
      restartPolicy: 'Never',
      // Workers never call the Kubernetes API.
      automountServiceAccountToken: false,
      securityContext: POD_SECURITY_CONTEXT,
      terminationGracePeriodSeconds: WORKER_TERMINATION_GRACE_SECONDS,
      ...(r.workers.nodeSelector === null ? {} : { nodeSelector: r.workers.nodeSelector }),
      ...(r.workers.tolerations === null ? {} : { tolerations: r.workers.tolerations }),
      ...(r.workers.priorityClassName === null ? {} : { priorityClassName: r.workers.priorityClassName }),
      containers: [
        {
          name: 'worker',
          image: r.workers.image ?? (r.workers.gpusPerPod > 0 ? settings.gpuImage : settings.image),
          ...(r.workers.imagePullPolicy === null ? {} : { imagePullPolicy: r.workers.imagePullPolicy }),
          args: ['encourage', 'worker', ...workerArgs(r, settings.bindPodIp)],
          env,
          ports: [
            { name: 'collective', containerPort: WORKER_COLLECTIVE_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: WORKER_METRICS_PORT, protocol: 'TCP' },
          ],
          ...(resources === undefined ? {} : { resources }),
          securityContext: CONTAINER_SECURITY_CONTEXT,
          ...(mounts.length === 0 ? {} : { volumeMounts: mounts }),
        },
      ],
      ...(volumes.length === 0 ? {} : { volumes }),
    },
  };
}
