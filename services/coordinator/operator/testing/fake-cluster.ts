/**
 * Test harness: a fake cluster on loopback — the fake API server (with the shipped CRD as admission
 * and RBAC enforcing the operator's and the coordinator's documented rules), optionally a fake
 * kubelet running pods as local processes — plus kubeconfig files for each identity and helpers to
 * wait on the API. Used by the operator's controller and end-to-end tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../../../core/logging.js';
import { EXPERIMENT_GROUP, EXPERIMENT_PLURAL, EXPERIMENT_VERSION, type Experiment } from '../experiment-types.js';
import { COORDINATOR_RULES, OPERATOR_RULES } from '../rbac-rules.js';
import { kubernetesAdmission } from './admission.js';
import { FakeApiServer, type Principal } from './fake-api-server.js';
import { FakeKubelet } from './fake-kubelet.js';

export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const EXP = { group: EXPERIMENT_GROUP, version: EXPERIMENT_VERSION, plural: EXPERIMENT_PLURAL };
export const OPERATOR_USER = 'system:serviceaccount:encourage:encourage-operator';
export const coordinatorUser = (ns: string) => `system:serviceaccount:${ns}:encourage-coordinator`;

export interface FakeCluster {
  readonly server: FakeApiServer;
  readonly root: string;
  readonly kubelet: FakeKubelet | null;
  /** Admin clients (what a user's kubectl would do). */
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** KubeConfig of the operator's ServiceAccount, and its file. */
  readonly operatorKubeConfig: KubeConfig;
  readonly operatorKubeconfigFile: string;
  /** KubeConfig of the coordinator ServiceAccount of namespace `ns` (what its pods get mounted). */
  coordinatorKubeConfig(ns: string): KubeConfig;
  getExperiment(ns: string, name: string): Promise<Experiment | null>;
  createExperiment(ns: string, body: object): Promise<Experiment>;
  /** Poll until `check` returns a value (not undefined/false) or `timeoutMs` passes (then throw with `what`). */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface FakeClusterOptions {
  readonly root: string;
  /** Run a fake kubelet with this CLI entry point. */
  readonly kubeletCli?: string;
  readonly kubeletEnv?: Record<string, string>;
  readonly eventWindow?: number;
  readonly bookmarkIntervalMs?: number;
  readonly logger?: Logger;
}

/** Start a fake cluster. Namespaced identities for coordinators are minted per namespace on demand. */
export async function startFakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  const tokens: Record<string, Principal> = {
    admin: { user: 'kubernetes-admin', rules: 'admin', namespace: null },
    kubelet: { user: 'system:node:fake-node', rules: 'admin', namespace: null },
    operator: { user: OPERATOR_USER, rules: OPERATOR_RULES, namespace: null },
  };
  const server = await FakeApiServer.start({ tokens, admission: kubernetesAdmission(), clusterIpPrefix: '127.1', bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000, ...(options.eventWindow === undefined ? {} : { eventWindow: options.eventWindow }) });
  const dir = join(options.root, 'kubeconfigs');
  mkdirSync(dir, { recursive: true });
  const kubeconfigFile = (name: string, token: string) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, server.kubeconfigYaml(token));
    return file;
  };
  const podKubeconfig = (ns: string, sa: string) => {
    if (sa !== 'encourage-coordinator') return undefined;
    const token = `coordinator-${ns}`;
    tokens[token] ??= { user: coordinatorUser(ns), rules: COORDINATOR_RULES, namespace: ns };
    return kubeconfigFile(token, token);
  };
  const admin = server.kubeConfig('admin');
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const logger = options.logger ?? silentLogger;
  const kubelet =
    options.kubeletCli === undefined
      ? null
      : new FakeKubelet({ kc: server.kubeConfig('kubelet'), nodeName: 'fake-node', root: options.root, cliMain: options.kubeletCli, podKubeconfig, probePeriodMs: 300, logger, ...(options.kubeletEnv === undefined ? {} : { extraEnv: options.kubeletEnv }) });
  await kubelet?.start();
  const waitFor = async <T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    server,
    root: options.root,
    kubelet,
    core,
    custom,
    operatorKubeConfig: server.kubeConfig('operator'),
    operatorKubeconfigFile: kubeconfigFile('operator', 'operator'),
    coordinatorKubeConfig: (ns) => {
      podKubeconfig(ns, 'encourage-coordinator');
      return server.kubeConfig(`coordinator-${ns}`);
    },
    getExperiment: async (ns, name) => {
      try {
        return (await custom.getNamespacedCustomObject({ ...EXP, namespace: ns, name })) as Experiment;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return null;
        throw err;
      }
    },
    createExperiment: async (ns, body) => (await custom.createNamespacedCustomObject({ ...EXP, namespace: ns, body: { apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', ...body } })) as Experiment,
    waitFor,
    stop: async () => {
      await kubelet?.stop();
      await server.close();
    },
  };
}
