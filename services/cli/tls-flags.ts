/**
 * The TLS flags `encourage coordinator` and `encourage worker` share (services/core/tls.ts parses
 * them; each flag falls back to its ENCOURAGE_TLS_* environment variable).
 */
import type { Command } from 'commander';

/** Add --tls-dir/--tls-ca/--tls-cert/--tls-key/--tls-mutual/--tls-server-name; `who` names the process in the help. */
export function addTlsOptions(cmd: Command, who: 'coordinator' | 'worker'): Command {
  return cmd
    .option('--tls-dir <dir>', 'directory with ca.crt, tls.crt and tls.key, as a kubernetes.io/tls Secret mounts them (env ENCOURAGE_TLS_DIR)')
    .option('--tls-ca <file>', "PEM CA that signs the run's certificates (env ENCOURAGE_TLS_CA)")
    .option('--tls-cert <file>', `PEM certificate of this ${who} (env ENCOURAGE_TLS_CERT)`)
    .option('--tls-key <file>', `PEM private key of this ${who} (env ENCOURAGE_TLS_KEY)`)
    .option('--tls-mutual', `require client certificates signed by the CA on this ${who}'s server (mutual TLS; env ENCOURAGE_TLS_MUTUAL=true)`)
    .option('--tls-server-name <name>', 'name every server certificate carries (peers are dialled by address; env ENCOURAGE_TLS_SERVER_NAME)');
}
