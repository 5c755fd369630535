/**
 * A kubelet (and scheduler, and kube-proxy) for the end-to-end test: it watches pods on the fake
 * API server, binds unscheduled ones to its node, and runs each pod's container as a local process
 * — `encourage …` becomes `node <repo>/dist/services/cli/main.js …` — doing what a kubelet does
 * for it: a pod IP of its own (127.2.x.y: all of 127/8 is local on Linux, so every pod can bind the
 * same ports), Downward API env (`fieldRef`), `secretKeyRef` env read from the API, `$(VAR)`
 * expansion in env and args, volumes (PVCs and emptyDirs are host directories; paths under a mount
 * point are translated), gRPC readiness probes, pod status (Pending → Running → Succeeded/Failed with
 * exit codes, 128+n for a signal), and graceful deletion (SIGTERM, SIGKILL after the grace period,
 * then the final grace-0 delete). Cluster DNS names (`<svc>.<ns>.svc`, `<host>.<subdomain>.<ns>.svc`)
 * in env and args are resolved to cluster IPs (served by the fake kube-proxy) and pod IPs — the
 * processes share the host's resolver, so this stands in for cluster DNS. Pods whose service-account
 * token is mounted get `KUBECONFIG` for their ServiceAccount, standing in for the projected token.
 * Not emulated: containers other than the first, restartPolicy other than Never, resource limits,
 * users (securityContext), images (every image runs this repository's CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { probeHealth } from '../../health-probe.js';
import { apiStatusCode } from '../kube-api.js';
import { ResourceInformer } from '../resource-informer.js';
import { FakeKubeProxy, type ServiceLike } from './fake-kube-proxy.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const DNS_NAME = /\b((?:[a-z0-9]([-a-z0-9]*[a-z0-9])?\.){2,3})svc(?:\.cluster\.local)?\b/g;

export interface FakeKubeletOptions {
  /** The kubelet's own credentials. */
  readonly kc: KubeConfig;
  readonly nodeName: string;
  /** Host directory for pod directories (`pods/`) and PersistentVolumeClaims (`pvc/<ns>/<claim>`). */
  readonly root: string;
  /** The CLI entry point that `encourage` runs. */
  readonly cliMain: string;
  /** KUBECONFIG file for a pod's ServiceAccount (stand-in for the mounted token); undefined: none. */
  readonly podKubeconfig?: (namespace: string, serviceAccount: string) => string | undefined;
  /** First two octets of pod IPs (default 127.2). */
  readonly podIpPrefix?: string;
  /** Override of readiness-probe periods (tests: faster than the pods' periodSeconds). */
  readonly probePeriodMs?: number;
  /** Extra environment for every process (e.g. log level). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

/** A finished container, for assertions. */
export interface ContainerExit {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
  readonly exitCode: number;
  readonly signal: NodeJS.Signals | null;
  /** Whether the kubelet had sent SIGTERM because the pod was deleted. */
  readonly terminated: boolean;
  readonly atMs: number;
}

interface PodRun {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly labels: Record<string, string>;
  readonly hostname: string | undefined;
  readonly subdomain: string | undefined;
  readonly ports: Record<string, number>;
  readonly logPath: string;
  child: ChildProcess | null;
  startedAt: string | null;
  exited: boolean;
  terminating: boolean;
  ready: boolean;
  deleted: boolean;
  timers: NodeJS.Timeout[];
}

class Retry extends Error {}

export class FakeKubelet {
  readonly exits: ContainerExit[] = [];
  private readonly core: CoreV1Api;
  private readonly runs = new Map<string, PodRun>();
  private readonly binding = new Set<string>();
  private readonly pods: ResourceInformer<KubernetesObject>;
  private readonly services: ResourceInformer<KubernetesObject>;
  private readonly proxy: FakeKubeProxy;
  private nextIp = 0;
  private stopped = false;

  constructor(private readonly options: FakeKubeletOptions) {
    this.core = options.kc.makeApiClient(CoreV1Api);
    const common = { kc: options.kc, watchTimeoutSeconds: 60, logger: options.logger };
    this.pods = new ResourceInformer({ ...common, path: '/api/v1/pods', list: () => this.core.listPodForAllNamespaces(), onChange: (o, verb) => this.onPod(o as V1Pod, verb) });
    this.services = new ResourceInformer({ ...common, path: '/api/v1/services', list: () => this.core.listServiceForAllNamespaces(), onChange: () => void this.proxy.sync(this.services.list() as ServiceLike[]) });
    this.proxy = new FakeKubeProxy(() => [...this.runs.values()].filter((r) => r.child !== null && !r.exited).map((r) => ({ namespace: r.namespace, labels: r.labels, ip: r.ip, ready: r.ready, ports: r.ports })), options.logger);
  }

  /** Kills every pod process if the test process exits without `stop` (a timed-out test). */
  private readonly reap = () => {
    for (const r of this.runs.values()) if (!r.exited) r.child?.kill('SIGKILL');
  };

  async start(): Promise<void> {
    process.once('exit', this.reap);
    this.pods.start();
    this.services.start();
    await Promise.all([this.pods.synced, this.services.synced]);
  }

  /** The log (stdout and stderr) of the latest pod named `name`. */
  logs(namespace: string, name: string): string {
    const run = [...this.runs.values()].reverse().find((r) => r.namespace === namespace && r.name === name);
    if (run === undefined) return '';
    try {
      return readFileSync(run.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  private allocateIp(): string {
    const n = this.nextIp++;
    return `${this.options.podIpPrefix ?? '127.2'}.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  private onPod(pod: V1Pod, verb: 'add' | 'update' | 'delete'): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid ?? '';
    const run = this.runs.get(uid);
    if (verb === 'delete') {
      // Gone from the API (final delete, or forced): nothing may keep running.
      if (run !== undefined && !run.exited) run.child?.kill('SIGKILL');
      if (run !== undefined) run.deleted = true;
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (nodeName === undefined) {
      if (pod.metadata?.deletionTimestamp === undefined && !this.binding.has(uid)) {
        this.binding.add(uid);
        this.core
          .createNamespacedPodBinding({ namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, body: { metadata: { name: pod.metadata!.name! }, target: { apiVersion: 'v1', kind: 'Node', name: this.options.nodeName } } })
          .catch((err: unknown) => this.options.logger.warn({ pod: pod.metadata?.name, err: (err as Error).message }, 'fake kubelet: bind failed'));
      }
      return;
    }
    if (nodeName !== this.options.nodeName) return;
    if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) {
      if (run === undefined) return void this.finalDelete(pod.metadata.namespace!, pod.metadata.name!, uid);
      if (run.exited || run.child === null) return void this.finalDelete(run.namespace, run.name, uid);
      if (!run.terminating) this.terminate(run, pod.metadata.deletionGracePeriodSeconds ?? 30);
      return;
    }
    if (run === undefined && pod.status?.phase === 'Pending') void this.startPod(pod);
  }

  private async patchStatus(run: Pick<PodRun, 'namespace' | 'name'>, status: object): Promise<void> {
    try {
      await this.core.patchNamespacedPodStatus({ namespace: run.namespace, name: run.name, body: { status } }, MERGE);
    } catch (err) {
      if (apiStatusCode(err) !== 404) this.options.logger.warn({ pod: run.name, err: (err as Error).message }, 'fake kubelet: status update failed');
    }
  }

  private conditions(run: PodRun): object[] {
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const ready = run.ready && !run.exited ? 'True' : 'False';
    return [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
      { type: 'Initialized', status: 'True', lastTransitionTime: t },
      { type: 'ContainersReady', status: ready, lastTransitionTime: t },
      { type: 'Ready', status: ready, lastTransitionTime: t },
    ];
  }

  private async startPod(pod: V1Pod): Promise<void> {
    const meta = pod.metadata!;
    const container = pod.spec!.containers[0]!;
    const podDir = join(this.options.root, 'pods', `${meta.namespace}_${meta.name}_${meta.uid}`);
    mkdirSync(join(podDir, 'app'), { recursive: true });
    const run: PodRun = {
      uid: meta.uid!, namespace: meta.namespace!, name: meta.name!, ip: this.allocateIp(), labels: meta.labels ?? {},
      hostname: pod.spec!.hostname, subdomain: pod.spec!.subdomain,
      ports: Object.fromEntries((container.ports ?? []).filter((p) => p.name !== undefined).map((p) => [p.name!, p.containerPort])),
      logPath: join(podDir, `${container.name}.log`), child: null, startedAt: null, exited: false, terminating: false, ready: false, deleted: false, timers: [],
    };
    this.runs.set(run.uid, run);
    const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.patchStatus(run, { phase: 'Pending', hostIP: '127.0.0.1', podIP: run.ip, podIPs: [{ ip: run.ip }], startTime: started, conditions: this.conditions(run), containerStatuses: [{ name: container.name, image: container.image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] });
    if (pod.spec!.containers.length !== 1 || (pod.spec!.restartPolicy ?? 'Always') !== 'Never') {
      return this.failToStart(run, container.name, 'UnsupportedByFakeKubelet', 'the fake kubelet runs single-container pods with restartPolicy Never');
    }
    let argv: string[];
    let env: Record<string, string>;
    for (;;) {
      if (run.deleted || this.stopped) return;
      try {
        ({ argv, env } = await this.prepare(pod, run, podDir));
        break;
      } catch (err) {
        if (!(err instanceof Retry)) return this.failToStart(run, container.name, 'ContainerCannotRun', (err as Error).message);
        await this.patchStatus(run, { containerStatuses: [{ name: container.name, image: container.image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: err.message } } }] });
        await new Promise((r) => setTimeout(r, 300));
        const current = this.pods.get(run.name, run.namespace) as V1Pod | undefined;
        if (current === undefined || current.metadata?.uid !== run.uid || current.metadata.deletionTimestamp !== undefined) return void this.finalDelete(run.namespace, run.name, run.uid);
      }
    }
    if (argv[0] !== 'encourage') return this.failToStart(run, container.name, 'ContainerCannotRun', `exec: "${argv[0]}": executable file not found in $PATH`);
    const log = openSync(run.logPath, 'a');
    const child = spawn(process.execPath, [this.options.cliMain, ...argv.slice(1)], { cwd: join(podDir, 'app'), env, stdio: ['ignore', log, log] });
    closeSync(log);
    run.child = child;
    child.on('spawn', () => {
      run.startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      run.ready = container.readinessProbe === undefined;
      void this.patchStatus(run, { phase: 'Running', conditions: this.conditions(run), containerStatuses: [this.containerStatus(run, container.name, container.image, { running: { startedAt: run.startedAt } })] });
      const grpc = container.readinessProbe?.grpc;
      if (grpc !== undefined) this.probe(run, container.name, container.image, grpc.port, this.options.probePeriodMs ?? (container.readinessProbe!.periodSeconds ?? 10) * 1000);
    });
    child.on('exit', (code, signal) => void this.onExit(run, container.name, container.image, code, signal));
  }

  private containerStatus(run: PodRun, name: string, image: string | undefined, state: object): object {
    return { name, image, imageID: '', containerID: `fake://${run.uid}`, ready: run.ready && !run.exited, restartCount: 0, started: !run.exited, state };
  }

  private probe(run: PodRun, name: string, image: string | undefined, port: number, periodMs: number): void {
    const tick = async () => {
      if (run.exited || this.stopped) return;
      const ok = await probeHealth(`${run.ip}:${port}`, { timeoutMs: Math.min(1000, periodMs) }).then((s) => s === 'SERVING', () => false);
      if (ok !== run.ready && !run.exited) {
        run.ready = ok;
        await this.patchStatus(run, { conditions: this.conditions(run), containerStatuses: [this.containerStatus(run, name, image, { running: { startedAt: run.startedAt } })] });
      }
      if (!run.exited && !this.stopped) run.timers.push(setTimeout(() => void tick(), periodMs));
    };
    void tick();
  }

  /** Env and argv as the kubelet would give them to the container runtime. */
  private async prepare(pod: V1Pod, run: PodRun, podDir: string): Promise<{ argv: string[]; env: Record<string, string> }> {
    const container = pod.spec!.containers[0]!;
    const mounts = this.mounts(pod, podDir);
    const vars: Record<string, string> = {};
    const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => vars[v] ?? m);
    for (const e of container.env ?? []) {
      let value: string;
      if (e.value !== undefined) value = expand(e.value);
      else if (e.valueFrom?.fieldRef !== undefined) value = this.fieldRef(pod, run, e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom?.secretKeyRef !== undefined) value = await this.secretValue(run.namespace, e.valueFrom.secretKeyRef.name!, e.valueFrom.secretKeyRef.key);
      else throw new Error(`env ${e.name}: only value, fieldRef and secretKeyRef are emulated`);
      vars[e.name] = this.resolveDns(this.translate(value, mounts), run.namespace);
    }
    const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) => this.resolveDns(this.translate(expand(a), mounts), run.namespace));
    const sa = pod.spec!.serviceAccountName ?? 'default';
    const kubeconfig = pod.spec!.automountServiceAccountToken === false ? undefined : this.options.podKubeconfig?.(run.namespace, sa);
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: podDir, HOSTNAME: pod.spec!.hostname ?? run.name, ...this.options.extraEnv, ...vars, ...(kubeconfig === undefined ? {} : { KUBECONFIG: kubeconfig }) };
    return { argv, env };
  }

  private fieldRef(pod: V1Pod, run: PodRun, path: string): string {
    const label = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
    if (label !== null) return (label[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[label[2]!] ?? '';
    const values: Record<string, string | undefined> = {
      'metadata.name': pod.metadata?.name, 'metadata.namespace': pod.metadata?.namespace, 'metadata.uid': pod.metadata?.uid,
      'spec.nodeName': pod.spec?.nodeName, 'spec.serviceAccountName': pod.spec?.serviceAccountName, 'status.podIP': run.ip, 'status.hostIP': '127.0.0.1',
    };
    if (!(path in values)) throw new Error(`fieldRef ${path} is not emulated`);
    return values[path] ?? '';
  }

  private async secretValue(namespace: string, name: string, key: string): Promise<string> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      const v = secret.data?.[key];
      if (v === undefined) throw new Retry(`couldn't find key ${key} in Secret ${namespace}/${name}`);
      return Buffer.from(v, 'base64').toString('utf8');
    } catch (err) {
      if (err instanceof Retry) throw err;
      if (apiStatusCode(err) === 404) throw new Retry(`secret "${name}" not found`);
      throw err;
    }
  }

  /** mountPath → host directory of each volume mount (PVCs shared by claim name, emptyDirs per pod). */
  private mounts(pod: V1Pod, podDir: string): [string, string][] {
    const container = pod.spec!.containers[0]!;
    return (container.volumeMounts ?? []).map((m) => {
      const v = pod.spec!.volumes?.find((x) => x.name === m.name);
      let dir: string;
      if (v?.persistentVolumeClaim !== undefined) dir = join(this.options.root, 'pvc', pod.metadata!.namespace!, v.persistentVolumeClaim.claimName);
      else if (v?.emptyDir !== undefined) dir = join(podDir, 'volumes', m.name);
      else throw new Error(`volume ${m.name}: only persistentVolumeClaim and emptyDir are emulated`);
      if (m.subPath !== undefined) dir = join(dir, m.subPath);
      mkdirSync(dir, { recursive: true });
      return [m.mountPath.replace(/\/+$/, ''), dir];
    });
  }

  /** Paths below a mount point → the host directory behind it. */
  private translate(value: string, mounts: [string, string][]): string {
    for (const [mountPath, dir] of mounts) if (value === mountPath || value.startsWith(`${mountPath}/`)) return dir + value.slice(mountPath.length);
    return value;
  }

  /** Cluster DNS names → cluster IPs (Services) and pod IPs (`<hostname>.<subdomain>` of a headless Service). */
  private resolveDns(value: string, podNamespace: string): string {
    return value.replace(DNS_NAME, (name, labelsDot: string) => {
      const labels = labelsDot.slice(0, -1).split('.');
      if (labels.length === 2) {
        const svc = this.services.get(labels[0]!, labels[1]!) as ServiceLike | undefined;
        const ip = svc?.spec?.clusterIP;
        if (ip === undefined || ip === 'None') throw new Retry(`cannot resolve ${name}: no such Service with a cluster IP (from ${podNamespace})`);
        return ip;
      }
      if (labels.length === 3) {
        const run = [...this.runs.values()].find((r) => !r.exited && r.hostname === labels[0] && r.subdomain === labels[1] && r.namespace === labels[2]);
        if (run === undefined) throw new Retry(`cannot resolve ${name}: no running pod with that hostname and subdomain`);
        return run.ip;
      }
      return name;
    });
  }

  private async failToStart(run: PodRun, container: string, reason: string, message: string): Promise<void> {
    run.exited = true;
    this.options.logger.warn({ pod: run.name, reason, message }, 'fake kubelet: container cannot run');
    await this.patchStatus(run, { phase: 'Failed', reason, message, conditions: this.conditions(run), containerStatuses: [{ name: container, imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 128, reason, message } } }] });
  }

  private terminate(run: PodRun, graceSeconds: number): void {
    run.terminating = true;
    run.child?.kill('SIGTERM');
    run.timers.push(setTimeout(() => run.child?.kill('SIGKILL'), Math.max(0, graceSeconds) * 1000));
  }

  private async onExit(run: PodRun, name: string, image: string | undefined, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    run.exited = true;
    run.ready = false;
    for (const t of run.timers) clearTimeout(t);
    if (this.stopped) return;
    // Container runtimes report a signal death as 128 + the signal's number.
    const exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
    this.exits.push({ namespace: run.namespace, pod: run.name, uid: run.uid, exitCode, signal, terminated: run.terminating, atMs: Date.now() });
    const finishedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const reason = exitCode === 0 ? 'Completed' : signal === 'SIGKILL' ? 'Killed' : 'Error';
    if (!run.deleted) {
      await this.patchStatus(run, {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        conditions: this.conditions(run),
        containerStatuses: [this.containerStatus(run, name, image, { terminated: { exitCode, ...(signal === null ? {} : { signal: constants.signals[signal] }), reason, startedAt: run.startedAt ?? finishedAt, finishedAt } })],
      });
    }
    const pod = this.pods.get(run.name, run.namespace) as V1Pod | undefined;
    if (run.terminating || (pod?.metadata?.uid === run.uid && pod.metadata.deletionTimestamp !== undefined)) await this.finalDelete(run.namespace, run.name, run.uid);
  }

  private async finalDelete(namespace: string, name: string, uid: string): Promise<void> {
    const run = this.runs.get(uid);
    if (run?.deleted === true || this.stopped) return;
    if (run !== undefined) run.deleted = true;
    try {
      await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0, body: { preconditions: { uid } } });
    } catch (err) {
      if (apiStatusCode(err) !== 404) this.options.logger.warn({ pod: name, err: (err as Error).message }, 'fake kubelet: final delete failed');
    }
  }

  /** Kill every process and stop watching. */
  async stop(): Promise<void> {
    this.stopped = true;
    process.off('exit', this.reap);
    await Promise.all([this.pods.stop(), this.services.stop()]);
    const live = [...this.runs.values()].filter((r) => r.child !== null && !r.exited);
    await Promise.all(live.map((r) => new Promise<void>((resolve) => {
      r.child!.once('exit', () => resolve());
      r.child!.kill('SIGKILL');
    })));
    for (const r of this.runs.values()) for (const t of r.timers) clearTimeout(t);
    await this.proxy.close();
  }
}
