/**
 * Test helper for partition tests: a private network of Linux network namespaces (iproute2's
 * `ip netns`), so a test can cut real links between real processes instead of faking failures.
 *
 * Layout (everything lives inside namespaces this helper creates; the root namespace and its
 * interfaces are never touched):
 *
 *   enc-<pid>-<tag>-hub   bridge `br0` = <subnet>.1/24 — the "switch"; the coordinator runs here
 *   enc-<pid>-<tag>-w<i>  `eth0` = <subnet>.(10+i)/24, a veth whose other end `h<i>` is a port of br0
 *
 * Faults, both silent drops as on a real network (no RST, no ICMP), so peers only notice through
 * their deadlines:
 * - `cut(i)` sets the switch port `h<i>` down: worker i reaches neither its peers nor the
 *   coordinator (a pulled cable / dead top-of-rack port). `mend(i)` sets it up again.
 * - `isolate(i, j)` turns on bridge port isolation (`bridge_slave isolated on`, kernel ≥ 4.18)
 *   on both ports: the bridge stops forwarding between isolated ports, while either still talks
 *   to the bridge itself (the coordinator) and to every other port — a partition between two
 *   workers only. tc filters or iptables would do the same, but they need kernel modules and
 *   binaries a CI container may lack; port isolation is part of the bridge itself.
 *
 * Every command needs CAP_NET_ADMIN; `netnsUnavailable()` says why a test must skip without it.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';

/** Where iproute2's `ip` may live (Debian installs it in /usr/sbin, often not on a user's PATH). */
const IP_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];
/** No `ip` command takes longer than this unless something is badly wrong. */
const IP_TIMEOUT_MS = 10_000;

/** Absolute path of the `ip` binary, or null when iproute2 is not installed. */
export async function findIp(): Promise<string | null> {
  for (const dir of IP_DIRS) {
    const candidate = join(dir, 'ip');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Run `ip …`; reject with the command line and ip's own message. */
function ip(bin: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: IP_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else reject(new Error(`\`ip ${args.join(' ')}\` failed: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

/**
 * Why network-namespace tests cannot run here (no iproute2, no CAP_NET_ADMIN, no veth or bridge
 * support in the kernel), or null when they can: creates and deletes a probe namespace with a
 * veth pair and a bridge.
 */
export async function netnsUnavailable(): Promise<string | null> {
  const bin = await findIp();
  if (bin === null) return `iproute2's \`ip\` is not installed (looked in ${IP_DIRS.join(', ')})`;
  const ns = `enc-${process.pid}-probe`;
  try {
    await ip(bin, ['netns', 'add', ns]);
  } catch (err) {
    return `cannot create a network namespace (needs root / CAP_NET_ADMIN): ${(err as Error).message}`;
  }
  try {
    await ip(bin, ['-n', ns, 'link', 'add', 'name', 'pbr', 'type', 'bridge']);
    await ip(bin, ['-n', ns, 'link', 'add', 'name', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    await ip(bin, ['-n', ns, 'link', 'set', 'p0', 'master', 'pbr']);
    await ip(bin, ['-n', ns, 'link', 'set', 'p0', 'type', 'bridge_slave', 'isolated', 'on']);
    return null;
  } catch (err) {
    return `the kernel lacks what the partition tests need (veth, bridge, port isolation): ${(err as Error).message}`;
  } finally {
    await ip(bin, ['netns', 'del', ns]).catch(() => undefined);
  }
}

export interface NetnsLabOptions {
  /** Distinguishes the labs of one test process (part of every namespace name). */
  readonly tag: string;
  readonly workers: number;
  /** First three octets of the private /24 (default 10.213.0): used only inside the lab's namespaces. */
  readonly subnet?: string;
}

export class NetnsLab {
  /** Namespaces created so far (destroy() removes exactly these). */
  private readonly created: string[] = [];

  private constructor(
    private readonly bin: string,
    private readonly prefix: string,
    private readonly subnet: string,
    readonly workers: number,
  ) {}

  /** Build the hub and `workers` worker namespaces; on any failure, remove what was built and rethrow. */
  static async create(opts: NetnsLabOptions): Promise<NetnsLab> {
    const bin = await findIp();
    if (bin === null) throw new Error('iproute2\'s `ip` is not installed');
    if (!/^[a-z0-9]{1,8}$/.test(opts.tag)) throw new Error(`invalid lab tag ${JSON.stringify(opts.tag)} (expected 1–8 of [a-z0-9])`);
    if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 200) throw new Error(`invalid worker count ${opts.workers} (expected 1–200)`);
    const subnet = opts.subnet ?? '10.213.0';
    if (!/^10\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`invalid subnet ${JSON.stringify(subnet)} (expected three octets of 10.0.0.0/8, e.g. 10.213.0)`);
    const lab = new NetnsLab(bin, `enc-${process.pid}-${opts.tag}`, subnet, opts.workers);
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy().catch(() => undefined);
      throw err;
    }
    return lab;
  }

  /** Name of the hub namespace, or of worker i's. */
  namespace(which: 'hub' | number): string {
    return which === 'hub' ? `${this.prefix}-hub` : `${this.prefix}-w${this.index(which)}`;
  }

  /** IPv4 address of the hub (the bridge), or of worker i. */
  address(which: 'hub' | number): string {
    return which === 'hub' ? `${this.subnet}.1` : `${this.subnet}.${10 + this.index(which)}`;
  }

  /** Command prefix that runs a program inside a namespace (`ip netns exec` execs it: same pid). */
  exec(which: 'hub' | number): string[] {
    return [this.bin, 'netns', 'exec', this.namespace(which)];
  }

  /** Cut worker i off the network: its switch port goes down. */
  async cut(i: number): Promise<void> {
    await this.hub(['link', 'set', `h${this.index(i)}`, 'down']);
  }

  /** Reconnect worker i. */
  async mend(i: number): Promise<void> {
    await this.hub(['link', 'set', `h${this.index(i)}`, 'up']);
  }

  /** Partition workers i and j from each other only (bridge port isolation on both ports). */
  async isolate(i: number, j: number): Promise<void> {
    for (const k of [i, j]) await this.hub(['link', 'set', `h${this.index(k)}`, 'type', 'bridge_slave', 'isolated', 'on']);
  }

  /** Undo isolate(i, j). */
  async reunite(i: number, j: number): Promise<void> {
    for (const k of [i, j]) await this.hub(['link', 'set', `h${this.index(k)}`, 'type', 'bridge_slave', 'isolated', 'off']);
  }

  /**
   * Kill whatever still runs inside the lab's namespaces (only processes the test started there)
   * and delete the namespaces; their veths and the bridge go with them. Tries every namespace and
   * then throws if any could not be deleted.
   */
  async destroy(): Promise<void> {
    const problems: string[] = [];
    for (const ns of [...this.created].reverse()) {
      try {
        const pids = (await ip(this.bin, ['netns', 'pids', ns])).split('\n').map((p) => Number(p.trim())).filter((p) => Number.isInteger(p) && p > 0);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await ip(this.bin, ['netns', 'del', ns]);
        this.created.splice(this.created.indexOf(ns), 1);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length > 0) throw new Error(`could not remove network namespaces: ${problems.join('; ')}`);
  }

  /** Namespaces of this test process that exist right now (for asserting a clean teardown). */
  async leftovers(): Promise<string[]> {
    const list = await ip(this.bin, ['netns', 'list']);
    return list.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${this.prefix}-`));
  }

  private async build(): Promise<void> {
    const hub = this.namespace('hub');
    await this.addNamespace(hub);
    await this.hub(['link', 'set', 'lo', 'up']);
    await this.hub(['link', 'add', 'name', 'br0', 'type', 'bridge']);
    await this.hub(['addr', 'add', `${this.address('hub')}/24`, 'dev', 'br0']);
    await this.hub(['link', 'set', 'br0', 'up']);
    for (let i = 0; i < this.workers; i++) {
      const ns = this.namespace(i);
      await this.addNamespace(ns);
      // Both ends are created inside lab namespaces, never in the root namespace.
      await this.hub(['link', 'add', 'name', `h${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await this.hub(['link', 'set', `h${i}`, 'master', 'br0']);
      await this.hub(['link', 'set', `h${i}`, 'up']);
      await ip(this.bin, ['-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0']);
      await ip(this.bin, ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ip(this.bin, ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  private async addNamespace(ns: string): Promise<void> {
    await ip(this.bin, ['netns', 'add', ns]);
    this.created.push(ns);
  }

  private hub(args: readonly string[]): Promise<string> {
    return ip(this.bin, ['-n', this.namespace('hub'), ...args]);
  }

  private index(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.workers) throw new RangeError(`no worker ${i} in this lab (workers 0–${this.workers - 1})`);
    return i;
  }
}
