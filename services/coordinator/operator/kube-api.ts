/**
 * The operator's and the coordinator's access to the Kubernetes API, through
 * `@kubernetes/client-node`: typed clients with a deadline on every request, merge patches with the
 * right Content-Type (client-node's generated patch methods default to JSON Patch), and the error
 * classification reconcile needs (404 NotFound, 409 AlreadyExists/Conflict).
 */
import { ApiException, CoreV1Api, createConfiguration, CustomObjectsApi, KubeConfig, PatchStrategy, ServerConfiguration, setHeaderOptions, type Middleware, type V1Pod, type V1Secret, type V1Service } from '@kubernetes/client-node';
import { KubeApiError } from '../errors.js';
import { EXPERIMENT_GROUP, EXPERIMENT_PLURAL, EXPERIMENT_VERSION, type Experiment } from './experiment-types.js';

/** Deadline of one API request (watches are long-lived and not bound by it). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** Per-request options that send the body as a JSON merge patch (RFC 7386). */
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Attaches an abort deadline to every request. */
function deadlineMiddleware(timeoutMs: number): Middleware {
  return { pre: async (ctx) => (ctx.setSignal(AbortSignal.timeout(timeoutMs)), ctx), post: async (res) => res };
}

/** A KubeConfig: from a file when given, else the default chain (KUBECONFIG, ~/.kube/config, in-cluster service account). */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file === undefined) kc.loadFromDefault();
  else kc.loadFromFile(file);
  return kc;
}

/** Make a client-node API client whose requests carry a deadline. */
export function makeClient<T>(kc: KubeConfig, api: new (config: ReturnType<typeof createConfiguration>) => T, timeoutMs: number): T {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new KubeApiError('kubeconfig has no current cluster', 'kubeconfig', 0);
  return new api(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: kc }, promiseMiddleware: [deadlineMiddleware(timeoutMs)] }));
}

/** HTTP status of a failed API call (ApiException), else null. */
export function apiStatusCode(err: unknown): number | null {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.code ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : null;
}

export const isNotFound = (err: unknown) => apiStatusCode(err) === 404;
/** 409: AlreadyExists on create, Conflict on a stale resourceVersion. */
export const isConflict = (err: unknown) => apiStatusCode(err) === 409;

/** Wrap an API failure into a KubeApiError naming the operation (message from the Status body). */
export function wrapApiError(err: unknown, operation: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const code = apiStatusCode(err) ?? 0;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiException && typeof err.body === 'string') {
    try {
      message = (JSON.parse(err.body) as { message?: string }).message ?? message;
    } catch {
      // not a Status object
    }
  }
  return new KubeApiError(message, operation, code, { cause: err });
}

export type ChildKind = 'pods' | 'services' | 'secrets';

/** The calls the operator makes. */
export class KubeApi {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly kc: KubeConfig, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS) {
    this.core = makeClient(kc, CoreV1Api, timeoutMs);
    this.custom = makeClient(kc, CustomObjectsApi, timeoutMs);
  }

  private readonly experiment = (namespace: string, name: string) => ({ group: EXPERIMENT_GROUP, version: EXPERIMENT_VERSION, plural: EXPERIMENT_PLURAL, namespace, name });

  /** List Experiments in `namespace` (null: all namespaces). */
  async listExperiments(namespace: string | null): Promise<{ items: Experiment[]; metadata?: { resourceVersion?: string } }> {
    const base = { group: EXPERIMENT_GROUP, version: EXPERIMENT_VERSION, plural: EXPERIMENT_PLURAL };
    return (namespace === null ? this.custom.listClusterCustomObject(base) : this.custom.listNamespacedCustomObject({ ...base, namespace })) as Promise<{ items: Experiment[] }>;
  }

  async getExperiment(namespace: string, name: string): Promise<Experiment> {
    return (await this.custom.getNamespacedCustomObject(this.experiment(namespace, name))) as Experiment;
  }

  /** Merge-patch the Experiment (metadata: finalizers, annotations). Include `metadata.resourceVersion` for a precondition. */
  async patchExperiment(namespace: string, name: string, patch: object): Promise<Experiment> {
    return (await this.custom.patchNamespacedCustomObject({ ...this.experiment(namespace, name), body: patch }, MERGE_PATCH)) as Experiment;
  }

  /** Merge-patch the status subresource. */
  async patchExperimentStatus(namespace: string, name: string, patch: object): Promise<Experiment> {
    return (await this.custom.patchNamespacedCustomObjectStatus({ ...this.experiment(namespace, name), body: patch }, MERGE_PATCH)) as Experiment;
  }

  async create(kind: ChildKind, namespace: string, body: V1Pod | V1Service | V1Secret): Promise<void> {
    if (kind === 'pods') await this.core.createNamespacedPod({ namespace, body: body as V1Pod });
    else if (kind === 'services') await this.core.createNamespacedService({ namespace, body: body as V1Service });
    else await this.core.createNamespacedSecret({ namespace, body: body as V1Secret });
  }

  /** Delete with the object's own grace period (pods: SIGTERM, then SIGKILL after it). */
  async delete(kind: ChildKind, namespace: string, name: string): Promise<void> {
    if (kind === 'pods') await this.core.deleteNamespacedPod({ namespace, name });
    else if (kind === 'services') await this.core.deleteNamespacedService({ namespace, name });
    else await this.core.deleteNamespacedSecret({ namespace, name });
  }

  /** Record a core/v1 Event about `involved` (best effort; callers log failures). */
  async createEvent(involved: Experiment, type: 'Normal' | 'Warning', reason: string, message: string, component: string): Promise<void> {
    const now = new Date();
    const ns = involved.metadata.namespace ?? 'default';
    await this.core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { generateName: `${involved.metadata.name}.`, namespace: ns },
        involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name: involved.metadata.name, namespace: ns, uid: involved.metadata.uid, resourceVersion: involved.metadata.resourceVersion },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: component,
      },
    });
  }
}
