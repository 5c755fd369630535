/**
 * kube-proxy for the fake kubelet: every ClusterIP Service gets a TCP listener on its cluster IP
 * (the fake API server allocates them from a loopback range) for each of its ports, forwarding each
 * connection to a ready pod that the Service selects, at the resolved target port — so a client
 * dialling `<svc>.<ns>.svc:7070` reaches whichever pod currently backs the Service, as in a
 * cluster. No ready endpoint: the connection is refused (reset), like kube-proxy's REJECT rule.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';

export interface ServiceLike {
  metadata: { name?: string; namespace?: string; uid?: string };
  spec?: { clusterIP?: string; selector?: Record<string, string>; publishNotReadyAddresses?: boolean; ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] };
}

export interface EndpointPod {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
  readonly ready: boolean;
  /** Named container ports. */
  readonly ports: Record<string, number>;
}

export class FakeKubeProxy {
  private readonly listeners = new Map<string, Server>();
  private readonly sockets = new Set<Socket>();

  constructor(
    /** The pods that could back a Service (the kubelet's running pods). */
    private readonly endpoints: () => readonly EndpointPod[],
    private readonly logger: Logger,
  ) {}

  private pick(svc: ServiceLike, targetPort: number | string): { ip: string; port: number } | null {
    const selector = svc.spec?.selector ?? {};
    const candidates = this.endpoints().filter(
      (p) => p.namespace === svc.metadata.namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v) && (p.ready || svc.spec?.publishNotReadyAddresses === true),
    );
    for (const p of candidates) {
      const port = typeof targetPort === 'number' ? targetPort : p.ports[targetPort];
      if (port !== undefined) return { ip: p.ip, port };
    }
    return null;
  }

  /** Make the listeners match `services` (new Services get listeners, deleted ones lose them). */
  async sync(services: readonly ServiceLike[]): Promise<void> {
    const wanted = new Map<string, { svc: ServiceLike; port: { port: number; targetPort?: number | string } }>();
    for (const svc of services) {
      const ip = svc.spec?.clusterIP;
      if (ip === undefined || ip === 'None' || ip === '') continue;
      for (const port of svc.spec?.ports ?? []) if ((port.protocol ?? 'TCP') === 'TCP') wanted.set(`${svc.metadata.uid}|${ip}:${port.port}`, { svc, port });
    }
    for (const [key, server] of this.listeners) {
      if (!wanted.has(key)) {
        server.close();
        this.listeners.delete(key);
      }
    }
    for (const [key, { svc, port }] of wanted) {
      if (this.listeners.has(key)) continue;
      const ip = svc.spec!.clusterIP!;
      const server = createServer((client) => {
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        const target = this.pick(svc, port.targetPort ?? port.port);
        if (target === null) {
          client.resetAndDestroy();
          return;
        }
        const upstream = connect(target.port, target.ip);
        this.sockets.add(upstream);
        upstream.on('close', () => this.sockets.delete(upstream));
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end);
        upstream.on('error', end);
      });
      this.listeners.set(key, server);
      await new Promise<void>((resolve) => {
        server.once('error', (err) => {
          this.logger.warn({ service: `${svc.metadata.namespace}/${svc.metadata.name}`, ip, port: port.port, err: err.message }, 'fake kube-proxy cannot listen');
          resolve();
        });
        server.listen(port.port, ip, () => resolve());
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.listeners.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.listeners.clear();
  }
}
