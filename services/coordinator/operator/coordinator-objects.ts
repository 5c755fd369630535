/**
 * The per-experiment control plane: the join-token Secret, the coordinator Pod and its ClusterIP
 * Service. The operator creates the coordinator as a bare Pod (restartPolicy Never) rather than a
 * Deployment: it decides itself when a failed coordinator is replaced (counting against
 * `runPolicy.backoffLimit`) and deletes it first, gracefully, when the Experiment goes away — a
 * SIGTERM'd coordinator writes its final checkpoint.
 */
import type { V1EnvVar, V1Pod, V1PodSecurityContext, V1Secret, V1SecurityContext, V1Service, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { CHECKPOINT_MOUNT_PATH, coordinatorArgs } from './coordinator-flags.js';
import type { ResolvedExperiment } from './experiment-spec.js';
import { COORDINATOR_GRPC_PORT, COORDINATOR_METRICS_PORT, JOIN_TOKEN_KEY, objectNames } from './experiment-types.js';
import { componentSelector, ownedMetadata, type BuildSettings, tlsPodParts } from './object-meta.js';

/**
 * Seconds a deleted coordinator gets between SIGTERM and SIGKILL: enough for rank 0 to stream a
 * final ResNet-18 checkpoint (~90 MB with momentum) and for the coordinator to write it.
 */
export const COORDINATOR_TERMINATION_GRACE_SECONDS = 120;

/**
 * The images run as user `encourage` (uid/gid 10001); fsGroup makes mounted PVCs writable by it.
 * Nothing in a pod needs privileges (Pod Security Standards "restricted").
 */
export const POD_SECURITY_CONTEXT: V1PodSecurityContext = { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } };
export const CONTAINER_SECURITY_CONTEXT: V1SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };

/** The join token's Secret; `token` is 32 random bytes in hex (the caller draws them). */
export function buildJoinSecret(r: ResolvedExperiment, token: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: ownedMetadata(r, objectNames.joinSecret(r.name)),
    type: 'Opaque',
    data: { [JOIN_TOKEN_KEY]: Buffer.from(token, 'utf8').toString('base64') },
  };
}

/** Downward API env every pod of the run gets, and the join token from the Secret. */
export function podIdentityEnv(r: ResolvedExperiment): V1EnvVar[] {
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'ENCOURAGE_JOIN_TOKEN', valueFrom: { secretKeyRef: { name: objectNames.joinSecret(r.name), key: JOIN_TOKEN_KEY } } },
  ];
}

/** The checkpoint volume: the PVC when the spec names one, else an emptyDir that dies with the pod. */
function checkpointVolume(r: ResolvedExperiment): { volume: V1Volume; mount: V1VolumeMount } {
  const volume: V1Volume = r.checkpointPvc === null ? { name: 'checkpoints', emptyDir: {} } : { name: 'checkpoints', persistentVolumeClaim: { claimName: r.checkpointPvc } };
  return { volume, mount: { name: 'checkpoints', mountPath: CHECKPOINT_MOUNT_PATH } };
}

/** The coordinator Pod `<name>-coordinator`. */
export function buildCoordinatorPod(r: ResolvedExperiment, settings: BuildSettings): V1Pod {
  const ckpt = checkpointVolume(r);
  const tls = tlsPodParts(settings.tls);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: ownedMetadata(r, objectNames.coordinatorPod(r.name), 'coordinator'),
    spec: {
      restartPolicy: 'Never',
      serviceAccountName: settings.coordinatorServiceAccount,
      securityContext: POD_SECURITY_CONTEXT,
      terminationGracePeriodSeconds: COORDINATOR_TERMINATION_GRACE_SECONDS,
      ...(r.workers.priorityClassName === null ? {} : { priorityClassName: r.workers.priorityClassName }),
      containers: [
        {
          name: 'coordinator',
          image: r.workers.image ?? settings.image,
          ...(r.workers.imagePullPolicy === null ? {} : { imagePullPolicy: r.workers.imagePullPolicy }),
          // args, not command: the image's ENTRYPOINT (tini) stays PID 1 and forwards SIGTERM.
          args: ['encourage', 'coordinator', ...coordinatorArgs(r, settings.bindPodIp)],
          env: [...podIdentityEnv(r), ...tls.env],
          ports: [
            { name: 'grpc', containerPort: COORDINATOR_GRPC_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: COORDINATOR_METRICS_PORT, protocol: 'TCP' },
          ],
          // The coordinator serves grpc.health.v1 (kubelet gRPC probes, GA since Kubernetes 1.27).
          readinessProbe: { grpc: { port: COORDINATOR_GRPC_PORT }, periodSeconds: 5 },
          resources: { requests: { cpu: '250m', memory: '512Mi' } },
          securityContext: CONTAINER_SECURITY_CONTEXT,
          volumeMounts: [ckpt.mount, ...tls.mounts],
        },
      ],
      volumes: [ckpt.volume, ...tls.volumes],
    },
  };
}

/** The coordinator's ClusterIP Service `<name>-coordinator` (gRPC and metrics). */
export function buildCoordinatorService(r: ResolvedExperiment): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(r, objectNames.coordinatorService(r.name), 'coordinator'),
    spec: {
      type: 'ClusterIP',
      selector: componentSelector(r.name, 'coordinator'),
      ports: [
        { name: 'grpc', port: COORDINATOR_GRPC_PORT, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
        { name: 'metrics', port: COORDINATOR_METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  };
}
