/**
 * The resource types the fake API server serves, with the per-type behaviour of the real one that
 * clients can observe: which types have a status subresource (whose writes are split from the
 * main resource's), the Experiment's scale subresource, and the create-time defaulting the real
 * registry strategies do (pod phase, Service cluster IPs, Secret `stringData`).
 */
import { EXPERIMENT_GROUP, EXPERIMENT_KIND, EXPERIMENT_PLURAL, EXPERIMENT_VERSION } from '../experiment-types.js';

export interface ResourceDef {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly statusSubresource: boolean;
  /** The scale subresource's paths (as in a CRD's `subresources.scale`). */
  readonly scale?: { readonly specReplicasPath: readonly string[]; readonly statusReplicasPath: readonly string[]; readonly labelSelectorPath: readonly string[] };
}

export const RESOURCES: readonly ResourceDef[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', statusSubresource: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', statusSubresource: true },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', statusSubresource: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', statusSubresource: false },
  {
    group: EXPERIMENT_GROUP,
    version: EXPERIMENT_VERSION,
    plural: EXPERIMENT_PLURAL,
    kind: EXPERIMENT_KIND,
    statusSubresource: true,
    scale: { specReplicasPath: ['spec', 'workers', 'replicas'], statusReplicasPath: ['status', 'workersReady'], labelSelectorPath: ['status', 'selector'] },
  },
];

export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

/** The resource served at group/version/plural, if any. */
export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** The resource of an owner reference (apiVersion + kind). */
export function resourceOfKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export type KObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
};

/** Allocates Service cluster IPs from a /16 (tests use a loopback range so a fake kube-proxy can bind them). */
export class ClusterIpAllocator {
  private next = 1;
  constructor(private readonly prefix: string) {}
  allocate(): string {
    const n = this.next++;
    return `${this.prefix}.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }
}

/** Create-time defaulting of the real registry strategies, for the fields clients read back. */
export function applyCreateDefaults(def: ResourceDef, obj: KObject, ips: ClusterIpAllocator): void {
  if (def.plural === 'pods') {
    const spec = (obj.spec ??= {});
    spec['restartPolicy'] ??= 'Always';
    spec['terminationGracePeriodSeconds'] ??= 30;
    spec['dnsPolicy'] ??= 'ClusterFirst';
    spec['schedulerName'] ??= 'default-scheduler';
    obj.status = { phase: 'Pending' };
  } else if (def.plural === 'services') {
    const spec = (obj.spec ??= {});
    spec['type'] ??= 'ClusterIP';
    if (spec['clusterIP'] === undefined || spec['clusterIP'] === '') spec['clusterIP'] = ips.allocate();
    spec['clusterIPs'] = [spec['clusterIP']];
    obj.status = { loadBalancer: {} };
  } else if (def.plural === 'secrets') {
    obj['type'] ??= 'Opaque';
    const stringData = obj['stringData'] as Record<string, string> | undefined;
    if (stringData !== undefined) {
      const data = (obj['data'] ??= {}) as Record<string, string>;
      for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
      delete obj['stringData'];
    }
  } else if (def.statusSubresource) {
    // Custom resources with a status subresource ignore status on create.
    delete obj.status;
  }
}
