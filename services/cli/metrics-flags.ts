/** The `--metrics-port`/`--metrics-host` flags shared by `coordinator`, `worker` and `train --workers`. */
import type { Command } from 'commander';
import { DEFAULT_METRICS_HOST, METRICS_OFF } from '../core/metrics/metrics-options.js';

/** Add the metrics endpoint flags; `portHelp` says how the port is used by this command. */
export function addMetricsOptions(cmd: Command, portHelp: string, defaultHost = DEFAULT_METRICS_HOST): Command {
  return cmd
    .option('--metrics-port <port|off>', `port of /metrics and /healthz: ${portHelp}; 0: ephemeral (logged); "${METRICS_OFF}": disabled`)
    .option('--metrics-host <host>', `listen address of /metrics and /healthz (default ${defaultHost})`);
}
