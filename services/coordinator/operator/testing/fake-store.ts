/**
 * The fake API server's storage, with the semantics of the real API server over etcd that
 * controllers depend on: one global, monotonically increasing resourceVersion; optimistic
 * concurrency (a stale resourceVersion is a 409 Conflict); the status subresource split;
 * `metadata.generation` bumped on spec changes only; no-op writes that change nothing; graceful
 * deletion (finalizers hold an object with a deletionTimestamp; a pod bound to a node waits for its
 * kubelet); background garbage collection of dependents whose owners are all gone; and a bounded
 * event history, so that a watch from a compacted resourceVersion gets 410 Gone.
 */
import { randomUUID } from 'node:crypto';
import { apiVersionOf, applyCreateDefaults, ClusterIpAllocator, RESOURCES, type KObject, type ResourceDef } from './fake-resources.js';

/** An API error: rendered as a `Status` object with this HTTP code and reason. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: { name?: string; group?: string; kind?: string } = {},
  ) {
    super(message);
  }
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface StoredEvent {
  readonly rv: number;
  readonly resource: string;
  readonly type: WatchEventType;
  readonly object: KObject;
  /** The object before a MODIFIED (selectors decide ADDED/DELETED from it). */
  readonly previous: KObject | null;
}
export interface WatchFilter {
  readonly namespace: string | null;
  readonly matches: (obj: KObject) => boolean;
}
type Listener = (e: StoredEvent) => void;

export interface FakeStoreOptions {
  /** Events kept for watch resumption; older resourceVersions get 410 Gone. */
  readonly eventWindow?: number;
  /** First three octets… of Service cluster IPs, e.g. "127.1" (a /16 prefix). */
  readonly clusterIpPrefix?: string;
  readonly now?: () => number;
}

const deepCopy = <T>(v: T): T => structuredClone(v);
const key = (ns: string, name: string) => `${ns}/${name}`;
export const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The object without metadata and status: what `generation` tracks. */
function specOf(o: KObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

export class FakeStore {
  private rv = 1000;
  /** Highest resourceVersion no longer in the event history. */
  private compactedRv = 1000;
  private readonly objects = new Map<string, Map<string, KObject>>(RESOURCES.map((r) => [r.plural, new Map()]));
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly ips: ClusterIpAllocator;
  private readonly eventWindow: number;
  private readonly now: () => number;

  constructor(options: FakeStoreOptions = {}) {
    this.ips = new ClusterIpAllocator(options.clusterIpPrefix ?? '10.96');
    this.eventWindow = options.eventWindow ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Forget the whole event history (as an etcd compaction): older watches get 410. */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  private table(def: ResourceDef): Map<string, KObject> {
    return this.objects.get(def.plural)!;
  }

  private notFound(def: ResourceDef, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${def.plural}${def.group === '' ? '' : `.${def.group}`} "${name}" not found`, { name, group: def.group, kind: def.plural });
  }

  private record(def: ResourceDef, type: WatchEventType, object: KObject, previous: KObject | null): void {
    const e: StoredEvent = { rv: this.rv, resource: def.plural, type, object: deepCopy(object), previous: previous === null ? null : deepCopy(previous) };
    this.history.push(e);
    while (this.history.length > this.eventWindow) this.compactedRv = this.history.shift()!.rv;
    for (const l of [...this.listeners]) l(e);
  }

  get(def: ResourceDef, ns: string, name: string): KObject {
    const o = this.table(def).get(key(ns, name));
    if (o === undefined) throw this.notFound(def, name);
    return deepCopy(o);
  }

  /** Objects of `def` in `ns` (null: all) matching `filter`, and the resourceVersion of the list. */
  list(def: ResourceDef, filter: WatchFilter): { items: KObject[]; resourceVersion: string } {
    const items = [...this.table(def).values()].filter((o) => (filter.namespace === null || o.metadata.namespace === filter.namespace) && filter.matches(o));
    return { items: items.map(deepCopy), resourceVersion: this.resourceVersion };
  }

  /** All objects of every type (for the garbage collector and ownership checks). */
  private everything(): KObject[] {
    return [...this.objects.values()].flatMap((t) => [...t.values()]);
  }

  uidExists(uid: string): boolean {
    return this.everything().some((o) => o.metadata.uid === uid);
  }

  create(def: ResourceDef, ns: string, body: KObject): KObject {
    const obj = deepCopy(body);
    obj.metadata ??= {};
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (obj.metadata.name === undefined || obj.metadata.name === '') {
      if (obj.metadata.generateName === undefined) throw new ApiError(422, 'Invalid', `${def.kind} is invalid: metadata.name: Required value: name or generateName is required`);
      obj.metadata.name = `${obj.metadata.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    }
    const name = obj.metadata.name;
    if (this.table(def).has(key(ns, name))) {
      throw new ApiError(409, 'AlreadyExists', `${def.plural}${def.group === '' ? '' : `.${def.group}`} "${name}" already exists`, { name, group: def.group, kind: def.plural });
    }
    applyCreateDefaults(def, obj, this.ips);
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.deletionGracePeriodSeconds;
    this.rv++;
    obj.metadata = { ...obj.metadata, namespace: ns, uid: randomUUID(), resourceVersion: String(this.rv), generation: 1, creationTimestamp: rfc3339(this.now()) };
    this.table(def).set(key(ns, name), obj);
    this.record(def, 'ADDED', obj, null);
    return deepCopy(obj);
  }

  /**
   * Replace an object (PUT, or the result of a PATCH). `subresource: 'status'` keeps everything but
   * status; a main-resource write of a type with a status subresource keeps the old status.
   */
  update(def: ResourceDef, ns: string, name: string, body: KObject, subresource: 'status' | null = null): KObject {
    const current = this.table(def).get(key(ns, name));
    if (current === undefined) throw this.notFound(def, name);
    const wanted = body.metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural}${def.group === '' ? '' : `.${def.group}`} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: def.group, kind: def.plural });
    }
    let next: KObject;
    if (subresource === 'status') {
      next = { ...deepCopy(current), status: deepCopy(body.status ?? {}) };
    } else {
      next = deepCopy(body);
      next.metadata ??= {};
      if (def.statusSubresource) next.status = deepCopy(current.status);
      // Identity and deletion state are the server's.
      for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (current.metadata[f] === undefined) delete next.metadata[f];
        else (next.metadata as Record<string, unknown>)[f] = current.metadata[f];
      }
      if (current.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).some((f) => !(current.metadata.finalizers ?? []).includes(f))) {
        throw new ApiError(422, 'Invalid', `${def.kind} "${name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted`);
      }
      if (next.metadata.finalizers?.length === 0) delete next.metadata.finalizers;
    }
    next.apiVersion = apiVersionOf(def);
    next.kind = def.kind;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    // A write that changes nothing is not a write: no new resourceVersion, no watch event.
    if (JSON.stringify(next) === JSON.stringify(current)) return deepCopy(current);
    if (specOf(next) !== specOf(current)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.rv++;
    next.metadata.resourceVersion = String(this.rv);
    this.table(def).set(key(ns, name), next);
    this.record(def, 'MODIFIED', next, current);
    if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0 && !this.waitsForKubelet(def, next)) this.remove(def, next, 'Background');
    return deepCopy(next);
  }

  /** A pod bound to a node and still running is finally deleted by its kubelet (grace period 0). */
  private waitsForKubelet(def: ResourceDef, o: KObject): boolean {
    return def.plural === 'pods' && typeof o.spec?.['nodeName'] === 'string' && (o.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  /**
   * DELETE. With finalizers, or for a running pod bound to a node (graceful termination), the
   * object only gets a deletionTimestamp; otherwise it is removed and its dependents collected.
   */
  delete(def: ResourceDef, ns: string, name: string, options: { gracePeriodSeconds?: number; propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } = {}): KObject {
    const current = this.table(def).get(key(ns, name));
    if (current === undefined) throw this.notFound(def, name);
    const pre = options.preconditions ?? {};
    if ((pre.uid !== undefined && pre.uid !== current.metadata.uid) || (pre.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion)) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural} "${name}": Precondition failed: UID in precondition: ${pre.uid ?? '-'}, UID in object meta: ${current.metadata.uid}`, { name, kind: def.plural });
    }
    const policy = options.propagationPolicy ?? 'Background';
    if (policy !== 'Background' && policy !== 'Orphan') throw new ApiError(400, 'BadRequest', `propagationPolicy ${policy} is not implemented by the fake API server`);
    let grace = 0;
    if (def.plural === 'pods') {
      const phase = current.status?.['phase'];
      const scheduled = typeof current.spec?.['nodeName'] === 'string';
      // registry/core/pod/strategy.go: unscheduled or terminated pods are deleted at once.
      grace = !scheduled || phase === 'Succeeded' || phase === 'Failed' ? 0 : (options.gracePeriodSeconds ?? (current.spec?.['terminationGracePeriodSeconds'] as number | undefined) ?? 30);
    }
    const finalizers = current.metadata.finalizers ?? [];
    if (finalizers.length > 0 || grace > 0) {
      const marked = deepCopy(current);
      if (marked.metadata.deletionTimestamp === undefined || (grace === 0 && (marked.metadata.deletionGracePeriodSeconds ?? 0) > 0)) {
        marked.metadata.deletionTimestamp = rfc3339(this.now() + grace * 1000);
        marked.metadata.deletionGracePeriodSeconds = grace;
        if (JSON.stringify(marked) !== JSON.stringify(current)) {
          this.rv++;
          marked.metadata.resourceVersion = String(this.rv);
          this.table(def).set(key(ns, name), marked);
          this.record(def, 'MODIFIED', marked, current);
        }
      }
      return deepCopy(this.table(def).get(key(ns, name))!);
    }
    return this.remove(def, current, policy);
  }

  private remove(def: ResourceDef, obj: KObject, policy: string): KObject {
    const k = key(obj.metadata.namespace!, obj.metadata.name!);
    this.table(def).delete(k);
    this.rv++;
    const gone = { ...deepCopy(obj), metadata: { ...deepCopy(obj.metadata), resourceVersion: String(this.rv) } };
    this.record(def, 'DELETED', gone, null);
    const uid = obj.metadata.uid!;
    // The garbage collector works asynchronously, as the real one does.
    setImmediate(() => this.collectDependents(uid, policy));
    return gone;
  }

  /** Background deletion / orphaning of the objects that `uid` owned. */
  private collectDependents(uid: string, policy: string): void {
    for (const def of RESOURCES) {
      for (const o of [...this.table(def).values()]) {
        const refs = o.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        try {
          if (policy === 'Orphan') {
            this.update(def, o.metadata.namespace!, o.metadata.name!, { ...o, metadata: { ...o.metadata, ownerReferences: refs.filter((r) => r.uid !== uid) } });
          } else if (refs.every((r) => r.uid === uid || !this.uidExists(r.uid))) {
            this.delete(def, o.metadata.namespace!, o.metadata.name!);
          }
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
  }

  /**
   * Stream changes of `def` after `fromRv` ('' or '0': the current objects as ADDED first).
   * Throws 410 Expired when `fromRv` is older than the kept history. Returns the unsubscribe.
   */
  watch(def: ResourceDef, fromRv: string, filter: WatchFilter, send: (type: WatchEventType, obj: KObject) => void): () => void {
    const deliver = (e: StoredEvent) => {
      if (e.resource !== def.plural) return;
      if (filter.namespace !== null && e.object.metadata.namespace !== filter.namespace) return;
      const now = filter.matches(e.object);
      const before = e.previous !== null && filter.matches(e.previous);
      // As the watch cache does: an object entering the selection is ADDED, leaving it DELETED.
      if (e.type === 'MODIFIED') {
        if (now && before) send('MODIFIED', e.object);
        else if (now) send('ADDED', e.object);
        else if (before) send('DELETED', e.object);
      } else if (now) send(e.type, e.object);
    };
    if (fromRv === '' || fromRv === '0') {
      for (const o of this.list(def, { namespace: filter.namespace, matches: filter.matches }).items) send('ADDED', o);
    } else {
      const n = Number(fromRv);
      if (!Number.isSafeInteger(n) || n < 0) throw new ApiError(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(fromRv)}`);
      if (n < this.compactedRv) throw new ApiError(410, 'Expired', `too old resource version: ${n} (${this.compactedRv})`);
      for (const e of this.history) if (e.rv > n) deliver(e);
    }
    const listener: Listener = (e) => deliver(e);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
