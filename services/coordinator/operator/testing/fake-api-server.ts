/**
 * A local Kubernetes API server for tests, speaking the REST protocol `@kubernetes/client-node`
 * uses (https://kubernetes.io/docs/reference/using-api/api-concepts/): collection and object paths
 * of the core group and of `encourage.dev/v1alpha1`; list with resourceVersion; watch as a chunked
 * stream of JSON events with BOOKMARKs when `allowWatchBookmarks` is set, server-side
 * `timeoutSeconds`, and an ERROR event with a 410 Expired Status for a compacted resourceVersion;
 * create (201, 409 AlreadyExists), get/delete (404 NotFound), PUT with optimistic concurrency,
 * JSON Patch and JSON Merge Patch by Content-Type (strategic merge and apply patches are refused
 * with 415, as for custom resources); the status and scale subresources and pod binding.
 * Optionally it authenticates bearer tokens and authorizes them against RBAC-style rules, including
 * the OwnerReferencesPermissionEnforcement check, so tests prove that the documented rights suffice.
 * Semantics of storage (versions, finalizers, garbage collection) live in fake-store.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { rulesAllow, type PolicyRule } from '../rbac-rules.js';
import { apiVersionOf, findResource, resourceOfKind, type KObject, type ResourceDef } from './fake-resources.js';
import type { Admission } from './admission.js';
import { ApiError, FakeStore, type FakeStoreOptions } from './fake-store.js';
import { applyJsonPatch, applyMergePatch, PatchError } from './json-patch.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';

/** Who a bearer token authenticates as, and what it may do (`namespace`: a RoleBinding's scope). */
export interface Principal {
  readonly user: string;
  readonly rules: readonly PolicyRule[] | 'admin';
  readonly namespace: string | null;
}

export interface FakeApiServerOptions extends FakeStoreOptions {
  readonly host?: string;
  readonly port?: number;
  /** Bearer token → principal. Without tokens every request is allowed. */
  readonly tokens?: Readonly<Record<string, Principal>>;
  readonly bookmarkIntervalMs?: number;
  /** Cap (and default) of a watch's `timeoutSeconds`. */
  readonly maxWatchSeconds?: number;
  /** Validation (and defaulting) of every object written; a rejection is a 422 Invalid. */
  readonly admission?: Admission;
}

export interface AuditEntry {
  readonly method: string;
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly user: string;
  readonly code: number;
  readonly contentType: string | null;
  readonly query: string;
  readonly atMs: number;
}

interface Route {
  readonly def: ResourceDef;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly subresource: string | null;
}

/** A fault to inject: the next `times` matching requests fail with `code`. */
export interface Fault {
  readonly method?: string;
  readonly verb?: string;
  readonly resource?: string;
  readonly code: number;
  times: number;
}

const CORE = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;
const GROUPED = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

function status(code: number, reason: string, message: string, details: object = {}): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

export class FakeApiServer {
  readonly store: FakeStore;
  readonly audit: AuditEntry[] = [];
  readonly faults: Fault[] = [];
  private readonly watches = new Set<ServerResponse>();
  private server!: Server;
  url = '';

  private constructor(private readonly options: FakeApiServerOptions) {
    this.store = new FakeStore(options);
  }

  /** Start listening (port 0: ephemeral). */
  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(options);
    s.server = createServer((req, res) => void s.handle(req, res));
    await new Promise<void>((resolve) => s.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
    const addr = s.server.address() as AddressInfo;
    s.url = `http://${addr.address}:${addr.port}`;
    return s;
  }

  /** A kubeconfig document for this server (client-node requires skip-TLS-verify for plain HTTP). */
  kubeconfigYaml(token?: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: fake\n  user:${token === undefined ? ' {}' : `\n    token: ${token}`}`,
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: fake',
      'current-context: fake',
      '',
    ].join('\n');
  }

  /** A client-node KubeConfig for this server. */
  kubeConfig(token?: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml(token));
    return kc;
  }

  /** End every open watch stream (as a restarting API server or a dropped connection would). */
  dropWatches(): void {
    for (const res of this.watches) res.destroy();
    this.watches.clear();
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(path: string): Route | null {
    let m = CORE.exec(path);
    let group = '';
    let version = 'v1';
    let rest: (string | undefined)[];
    if (m !== null) rest = [m[1], m[2], m[3], m[4]];
    else if ((m = GROUPED.exec(path)) !== null) {
      group = m[1]!;
      version = m[2]!;
      rest = [m[3], m[4], m[5], m[6]];
    } else return null;
    const def = findResource(group, version, rest[1]!);
    if (def === undefined) return null;
    return { def, namespace: rest[0] ?? null, name: rest[2] ?? null, subresource: rest[3] ?? null };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const route = this.route(url.pathname);
    const verb = route === null ? method.toLowerCase() : method === 'GET' ? (route.name !== null ? 'get' : q.get('watch') === 'true' || q.get('watch') === '1' ? 'watch' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? 'delete' : method.toLowerCase();
    const resource = route === null ? url.pathname : route.def.plural + (route.subresource === null ? '' : `/${route.subresource}`);
    let user = 'anonymous';
    let bodyName: string | null = null;
    const reply = (code: number, body: object) => {
      // A create names its object in the body (or the server generates the name).
      const name = route?.name ?? bodyName ?? ((body as { metadata?: { name?: string } }).metadata?.name ?? null);
      this.audit.push({ method, verb, resource, namespace: route?.namespace ?? null, name, user, code, contentType: req.headers['content-type'] ?? null, query: url.search, atMs: Date.now() });
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) => {
      if (err instanceof ApiError) return reply(err.code, status(err.code, err.reason, err.message, err.details));
      if (err instanceof PatchError) return reply(err.testFailed ? 422 : 400, status(err.testFailed ? 422 : 400, err.testFailed ? 'Invalid' : 'BadRequest', err.message));
      if (err instanceof SelectorError) return reply(400, status(400, 'BadRequest', err.message));
      return reply(500, status(500, 'InternalError', (err as Error).message));
    };
    try {
      if (route === null) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${method} ${url.pathname})`);
      user = this.authorize(req, route, verb);
      const fault = this.faults.find((f) => f.times > 0 && (f.method === undefined || f.method === method) && (f.verb === undefined || f.verb === verb) && (f.resource === undefined || f.resource === resource));
      if (fault !== undefined) {
        fault.times--;
        throw new ApiError(fault.code, fault.code === 500 ? 'InternalError' : fault.code === 429 ? 'TooManyRequests' : 'ServiceUnavailable', `injected fault for ${method} ${url.pathname}`);
      }
      const body = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE' ? await readJson(req) : null;
      bodyName = (body as { metadata?: { name?: string } } | null)?.metadata?.name ?? null;
      if (verb === 'watch') return this.watch(req, res, route, q, user);
      const result = await this.dispatch(req, route, verb, q, body);
      reply(verb === 'create' ? 201 : 200, result);
    } catch (err) {
      fail(err);
    }
  }

  private authorize(req: IncomingMessage, route: Route, verb: string): string {
    const tokens = this.options.tokens;
    if (tokens === undefined) return 'anonymous';
    const auth = req.headers.authorization;
    const principal = auth?.startsWith('Bearer ') ? tokens[auth.slice('Bearer '.length)] : undefined;
    if (principal === undefined) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    if (principal.rules === 'admin') return principal.user;
    const resource = route.def.plural + (route.subresource === null ? '' : `/${route.subresource}`);
    const inScope = principal.namespace === null || principal.namespace === route.namespace;
    if (!inScope || !rulesAllow(principal.rules, route.def.group, resource, verb)) {
      const where = route.namespace === null ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
      throw new ApiError(403, 'Forbidden', `${resource}${route.def.group === '' ? '' : `.${route.def.group}`} is forbidden: User "${principal.user}" cannot ${verb} resource "${resource}" in API group "${route.def.group}" ${where}`);
    }
    return principal.user;
  }

  /** OwnerReferencesPermissionEnforcement: blockOwnerDeletion needs `update` on the owner's finalizers. */
  private checkOwnerReferences(req: IncomingMessage, obj: KObject, namespace: string): void {
    const tokens = this.options.tokens;
    if (tokens === undefined) return;
    const principal = tokens[(req.headers.authorization ?? '').slice('Bearer '.length)]!;
    if (principal.rules === 'admin') return;
    for (const ref of obj.metadata?.ownerReferences ?? []) {
      if (ref.blockOwnerDeletion !== true) continue;
      const owner = resourceOfKind(ref.apiVersion, ref.kind);
      const allowed = owner !== undefined && (principal.namespace === null || principal.namespace === namespace) && rulesAllow(principal.rules, owner.group, `${owner.plural}/finalizers`, 'update');
      if (!allowed) throw new ApiError(403, 'Forbidden', `cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: User "${principal.user}" cannot update resource "${owner?.plural ?? ref.kind}/finalizers"`);
    }
  }

  /** Run admission on an object about to be stored. */
  private async admit(def: ResourceDef, obj: KObject): Promise<KObject> {
    if (this.options.admission === undefined) return obj;
    try {
      return await this.options.admission(def, obj);
    } catch (err) {
      if ((err as Error).name === 'AdmissionError') throw new ApiError(422, 'Invalid', `${def.kind} "${obj.metadata?.name ?? ''}" is invalid: ${(err as Error).message}`, { name: obj.metadata?.name ?? '', kind: def.kind });
      throw err;
    }
  }

  private async dispatch(req: IncomingMessage, route: Route, verb: string, q: URLSearchParams, body: unknown): Promise<object> {
    const { def, subresource } = route;
    const ns = route.namespace;
    if (ns === null && verb !== 'list') throw new ApiError(404, 'NotFound', `${def.plural} is namespaced; use /namespaces/<ns>/${def.plural}`);
    if (subresource !== null && !(subresource === 'status' && def.statusSubresource) && !(subresource === 'scale' && def.scale !== undefined) && !(subresource === 'binding' && def.plural === 'pods')) {
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${def.plural}/${subresource})`);
    }
    const name = route.name;
    switch (verb) {
      case 'list': {
        const matches = this.matcher(def, q);
        const { items, resourceVersion } = this.store.list(def, { namespace: ns, matches });
        return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion }, items };
      }
      case 'get':
        return subresource === 'scale' ? this.scaleOf(def, this.store.get(def, ns!, name!)) : this.store.get(def, ns!, name!);
      case 'create': {
        if (subresource === 'binding') return this.bind(ns!, name!, body as { target?: { kind?: string; name?: string } });
        const obj = { ...(body as KObject) };
        this.checkOwnerReferences(req, obj, ns!);
        // Status is not the client's to set on create (custom resources drop it, pods start Pending).
        if (def.statusSubresource) delete obj.status;
        return this.store.create(def, ns!, await this.admit(def, { ...obj, metadata: { ...obj.metadata, namespace: obj.metadata?.namespace ?? ns! } }));
      }
      case 'update':
      case 'patch': {
        const current = this.store.get(def, ns!, name!);
        const base = subresource === 'scale' ? this.scaleOf(def, current) : current;
        const next = verb === 'update' ? (body as KObject) : (this.applyPatch(req, base, body) as KObject);
        if (subresource === 'scale') return this.writeScale(def, current, next);
        if (subresource !== 'status') this.checkOwnerReferences(req, next, ns!);
        // Admission sees the object as it would be stored: a status write changes only the status.
        const candidate =
          subresource === 'status' ? { ...current, status: next.status ?? {}, metadata: { ...current.metadata, resourceVersion: next.metadata?.resourceVersion ?? current.metadata.resourceVersion } }
          : def.statusSubresource ? withStatus(next, current.status)
          : next;
        return this.store.update(def, ns!, name!, await this.admit(def, candidate), subresource === 'status' ? 'status' : null);
      }
      case 'delete': {
        const opts = (body ?? {}) as { gracePeriodSeconds?: number; propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } };
        const grace = q.get('gracePeriodSeconds') ?? opts.gracePeriodSeconds;
        const policy = q.get('propagationPolicy') ?? opts.propagationPolicy;
        return this.store.delete(def, ns!, name!, {
          ...(grace === undefined || grace === null ? {} : { gracePeriodSeconds: Number(grace) }),
          ...(policy === undefined || policy === null ? {} : { propagationPolicy: policy }),
          ...(opts.preconditions === undefined ? {} : { preconditions: opts.preconditions }),
        });
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on ${def.plural}`);
    }
  }

  private matcher(def: ResourceDef, q: URLSearchParams): (o: KObject) => boolean {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), def.plural);
    return (o) => labels(o.metadata.labels) && fields(o);
  }

  private applyPatch(req: IncomingMessage, current: object, patch: unknown): unknown {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type === 'application/merge-patch+json') return applyMergePatch(current, patch);
    if (type === 'application/json-patch+json') return applyJsonPatch(current, patch);
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${JSON.stringify(type)})`);
  }

  /** The autoscaling/v1 Scale view of a resource with a scale subresource. */
  private scaleOf(def: ResourceDef, obj: KObject): object {
    const at = (path: readonly string[]) => path.reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), obj);
    const s = def.scale!;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
      spec: { replicas: at(s.specReplicasPath) ?? 0 },
      status: { replicas: at(s.statusReplicasPath) ?? 0, selector: at(s.labelSelectorPath) ?? '' },
    };
  }

  private async writeScale(def: ResourceDef, current: KObject, scale: KObject): Promise<object> {
    const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new ApiError(422, 'Invalid', `Scale.autoscaling "${current.metadata.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}`);
    const next = structuredClone(current);
    let cur = next as Record<string, unknown>;
    const path = def.scale!.specReplicasPath;
    for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[path[path.length - 1]!] = replicas;
    next.metadata.resourceVersion = scale.metadata?.resourceVersion ?? current.metadata.resourceVersion;
    return this.scaleOf(def, this.store.update(def, current.metadata.namespace!, current.metadata.name!, await this.admit(def, next)));
  }

  /** POST pods/<name>/binding: what the scheduler does (here: the fake kubelet). */
  private bind(ns: string, name: string, binding: { target?: { kind?: string; name?: string } }): object {
    const pods = findResource('', 'v1', 'pods')!;
    const pod = this.store.get(pods, ns, name);
    const node = binding?.target?.name;
    if (binding?.target?.kind !== 'Node' || typeof node !== 'string') throw new ApiError(400, 'BadRequest', 'binding target must be a Node');
    if (pod.spec?.['nodeName'] !== undefined) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${String(pod.spec['nodeName'])}"`);
    if (pod.metadata.deletionTimestamp !== undefined) throw new ApiError(409, 'Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
    this.store.update(pods, ns, name, { ...pod, spec: { ...pod.spec, nodeName: node } });
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams, user: string): void {
    const { def } = route;
    const matches = this.matcher(def, q);
    const maxSeconds = this.options.maxWatchSeconds ?? 1800;
    const requested = Number(q.get('timeoutSeconds') ?? maxSeconds);
    const timeoutMs = Math.min(Number.isFinite(requested) && requested > 0 ? requested : maxSeconds, maxSeconds) * 1000;
    const write = (type: string, object: object) => res.write(`${JSON.stringify({ type, object })}\n`);
    const entry = { method: 'GET', verb: 'watch', resource: def.plural, namespace: route.namespace, name: null, user, code: 200, contentType: null, query: `?${q.toString()}`, atMs: Date.now() };
    // Replayed events are held until the subscription is known to be valid (a bad or compacted
    // resourceVersion must be answered before any event).
    const pending: [string, object][] = [];
    let live = false;
    let unsubscribe: () => void;
    try {
      unsubscribe = this.store.watch(def, q.get('resourceVersion') ?? '', { namespace: route.namespace, matches }, (type, obj) => (live ? write(type, obj) : pending.push([type, obj])));
    } catch (err) {
      // A compacted resourceVersion is reported in-stream, as the watch cache does.
      if (err instanceof ApiError && err.code === 410) {
        this.audit.push({ ...entry, code: 410 });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        write('ERROR', status(410, 'Expired', err.message));
        res.end();
        return;
      }
      throw err;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // Headers go out at once: a client waits for them before it considers the watch established.
    res.flushHeaders();
    live = true;
    for (const [type, obj] of pending) write(type, obj);
    this.audit.push(entry);
    this.watches.add(res);
    const bookmark = () => write('BOOKMARK', { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: this.store.resourceVersion } });
    const bookmarks = q.get('allowWatchBookmarks') === 'true' ? setInterval(bookmark, this.options.bookmarkIntervalMs ?? 60_000) : null;
    const finish = () => {
      unsubscribe();
      if (bookmarks !== null) clearInterval(bookmarks);
      clearTimeout(timer);
      this.watches.delete(res);
    };
    const timer = setTimeout(() => {
      if (bookmarks !== null) bookmark();
      finish();
      res.end();
    }, timeoutMs);
    // The response's 'close' is the client going away (the request's fires once its body is read).
    res.on('close', finish);
  }
}

/** `obj` with `status` replaced (absent when undefined, as JSON would have it). */
function withStatus(obj: KObject, status: KObject['status']): KObject {
  const { status: _old, ...rest } = obj;
  return status === undefined ? (rest as KObject) : { ...rest, status };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `invalid JSON body: ${(err as Error).message}`);
  }
}
