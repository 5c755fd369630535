/**
 * `encourage health`: ask a coordinator or the operator over grpc.health.v1 whether it is
 * SERVING (plaintext, or TLS with `--tls-*`). Prints {address, service, status}; exits 0 only for SERVING (what the Helm chart's
 * `helm test` hook relies on), 1 otherwise.
 */
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { loadTls, parseTlsSettings, type TlsFlags } from '../core/tls.js';
import { probeHealth } from '../coordinator/health-probe.js';
import { printJsonLine } from './io.js';

/** Register `encourage health`. */
export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('Check a coordinator or the operator over grpc.health.v1 (exit 0 when SERVING)')
    .requiredOption('--address <host:port>', 'gRPC address, e.g. encourage-operator.encourage.svc:7070')
    .option('--service <name>', 'service name to check ("" = the whole server)', '')
    .option('--timeout-ms <ms>', 'deadline, including waiting for the connection', '5000')
    .option('--tls-dir <dir>', 'speak TLS with the ca.crt, tls.crt and tls.key of this directory (a mounted kubernetes.io/tls Secret)')
    .option('--tls-ca <file>', 'PEM CA (TLS; with --tls-cert and --tls-key)')
    .option('--tls-cert <file>', 'PEM certificate presented under mutual TLS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-server-name <name>', 'name the server certificate carries, when it does not name the --address host')
    .action(async (flags: { address: string; service: string; timeoutMs: string } & TlsFlags) => {
      if (!/^[^\s:]+:\d{1,5}$/.test(flags.address)) throw new ConfigError('address', flags.address, 'host:port');
      const timeoutMs = Number(flags.timeoutMs);
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new ConfigError('timeoutMs', flags.timeoutMs, 'an integer ≥ 1');
      // Flags only: a probe names its credentials explicitly (an exec probe in a TLS pod, docs/security.md).
      const tls = loadTls(parseTlsSettings(flags));
      const status = await probeHealth(flags.address, { service: flags.service, timeoutMs, tls });
      printJsonLine({ address: flags.address, service: flags.service, status });
      process.exitCode = status === 'SERVING' ? 0 : 1;
    });
}
