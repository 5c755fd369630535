/**
 * The Experiment controller: informers on Experiments and on the Pods, Services and Secrets
 * labelled `encourage.dev/experiment` (one set per watched namespace, or one cluster-wide set),
 * a work queue keyed `namespace/name`, and `concurrency` workers running the reconcile. Every
 * event — of the Experiment or of any object it owns — queues the Experiment's key; a periodic
 * resync queues every Experiment, so a missed event or a time-based condition (deadline) is
 * picked up without one.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { EXPERIMENT_GROUP, EXPERIMENT_PLURAL, EXPERIMENT_VERSION, experimentKey, LABEL_EXPERIMENT, type Experiment, type OwnedObject, type PodLike } from './experiment-types.js';
import { KubeApi } from './kube-api.js';
import type { BuildSettings } from './object-meta.js';
import { OperatorMetrics } from './operator-metrics.js';
import { reconcileExperiment, type ObservedState } from './reconciler.js';
import { ResourceInformer } from './resource-informer.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerOptions {
  /** Namespaces to watch; null = all. */
  readonly namespaces: readonly string[] | null;
  readonly resyncMs: number;
  readonly concurrency: number;
  /** Server-side watch timeout (jittered up to 2×). */
  readonly watchTimeoutSeconds: number;
  readonly settings: BuildSettings;
  /** Retry backoff of a failing key. */
  readonly retryBaseDelayMs?: number;
  readonly requestTimeoutMs?: number;
}

export const OPERATOR_COMPONENT = 'encourage-operator';

type Kind = 'experiments' | 'pods' | 'services' | 'secrets';

export class ExperimentController {
  readonly api: KubeApi;
  readonly queue: WorkQueue;
  readonly metrics: OperatorMetrics;
  private readonly informers = new Map<Kind, ResourceInformer<KubernetesObject>[]>();
  private resyncTimer: NodeJS.Timeout | null = null;
  private started = false;
  readonly observed: ObservedState;

  constructor(
    readonly kc: KubeConfig,
    readonly options: ControllerOptions,
    private readonly logger: Logger,
  ) {
    this.api = new KubeApi(kc, options.requestTimeoutMs);
    this.queue = new WorkQueue(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs });
    this.metrics = new OperatorMetrics(() => this.queue.depth, () => this.experiments());
    const scopes: (string | null)[] = options.namespaces === null ? [null] : [...options.namespaces];
    for (const kind of ['experiments', 'pods', 'services', 'secrets'] as const) {
      this.informers.set(kind, scopes.map((ns) => this.makeInformer(kind, ns)));
    }
    const children = (kind: Kind) => (namespace: string, experiment: string) =>
      this.informers.get(kind)!.flatMap((i) => i.list(namespace)).filter((o) => o.metadata?.labels?.[LABEL_EXPERIMENT] === experiment) as unknown as OwnedObject[];
    this.observed = {
      experiment: (namespace, name) => {
        for (const i of this.informers.get('experiments')!) {
          const e = i.get(name, namespace);
          if (e !== undefined) return e as unknown as Experiment;
        }
        return undefined;
      },
      pods: children('pods') as (ns: string, e: string) => PodLike[],
      services: children('services'),
      secrets: children('secrets'),
    };
  }

  private makeInformer(kind: Kind, namespace: string | null): ResourceInformer<KubernetesObject> {
    const core = this.api.core;
    const labelSelector = kind === 'experiments' ? undefined : LABEL_EXPERIMENT;
    const prefix = kind === 'experiments' ? `/apis/${EXPERIMENT_GROUP}/${EXPERIMENT_VERSION}` : '/api/v1';
    const path = namespace === null ? `${prefix}/${kind}` : `${prefix}/namespaces/${namespace}/${kind}`;
    const ls = labelSelector === undefined ? {} : { labelSelector };
    const list = (): Promise<KubernetesListObject<KubernetesObject>> => {
      const p = (() => {
        switch (kind) {
          case 'experiments':
            return this.api.listExperiments(namespace);
          case 'pods':
            return namespace === null ? core.listPodForAllNamespaces(ls) : core.listNamespacedPod({ namespace, ...ls });
          case 'services':
            return namespace === null ? core.listServiceForAllNamespaces(ls) : core.listNamespacedService({ namespace, ...ls });
          case 'secrets':
            return namespace === null ? core.listSecretForAllNamespaces(ls) : core.listNamespacedSecret({ namespace, ...ls });
        }
      })();
      return p as Promise<KubernetesListObject<KubernetesObject>>;
    };
    return new ResourceInformer<KubernetesObject>({
      kc: this.kc,
      path,
      list,
      ...(labelSelector === undefined ? {} : { labelSelector }),
      watchTimeoutSeconds: this.options.watchTimeoutSeconds,
      logger: this.logger,
      onChange: (obj) => {
        const ns = obj.metadata?.namespace ?? 'default';
        const name = kind === 'experiments' ? obj.metadata?.name : obj.metadata?.labels?.[LABEL_EXPERIMENT];
        if (name !== undefined) this.queue.add(experimentKey(ns, name));
      },
      onRestart: () => this.metrics.informerRestarts.inc({ resource: kind }),
    });
  }

  /** Every Experiment in the caches. */
  experiments(): Experiment[] {
    return (this.informers.get('experiments') ?? []).flatMap((i) => i.list()) as unknown as Experiment[];
  }

  /** Start the informers, wait for their caches, then start reconciling and the resync timer. */
  async start(): Promise<void> {
    const all = [...this.informers.values()].flat();
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.synced));
    this.started = true;
    this.logger.info({ namespaces: this.options.namespaces ?? 'all', experiments: this.experiments().length }, 'caches synced; reconciling');
    this.queue.start(this.options.concurrency, (key) => reconcileExperiment({ api: this.api, observed: this.observed, settings: this.options.settings, logger: this.logger, component: OPERATOR_COMPONENT }, key), (o) => {
      this.metrics.reconciles.inc({ result: o.ok ? 'success' : 'error' });
      this.metrics.reconcileSeconds.observe(o.seconds);
      if (!o.ok) this.logger.warn({ experiment: o.key, err: (o.error as Error)?.message ?? String(o.error), retries: this.queue.retries(o.key) }, 'reconcile failed; will retry');
    });
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  /** Queue every known Experiment. */
  resync(): void {
    for (const e of this.experiments()) this.queue.add(experimentKey(e.metadata.namespace ?? 'default', e.metadata.name ?? ''));
  }

  get running(): boolean {
    return this.started;
  }

  /** Stop watching, then let in-flight reconciles finish (pending keys are left to the next operator). */
  async stop(): Promise<void> {
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    await Promise.all([...this.informers.values()].flat().map((i) => i.stop()));
    await this.queue.shutDown();
    this.started = false;
  }
}
