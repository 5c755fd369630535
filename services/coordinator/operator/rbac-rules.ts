/**
 * The Kubernetes API rights the operator and the coordinator pods need — the least that works,
 * verified by the end-to-end test, whose fake API server enforces exactly these rules
 * (docs/kubernetes-operator.md explains each). The Helm chart's ClusterRole/Role mirror them.
 */

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** ServiceAccount `encourage-operator` (ClusterRole, or a Role per watched namespace). */
export const OPERATOR_RULES: readonly PolicyRule[] = [
  // Informer on Experiments; finalizer and failure-annotation merge patches.
  { apiGroups: ['encourage.dev'], resources: ['experiments'], verbs: ['get', 'list', 'watch', 'patch'] },
  // Phase, conditions, worker counts, selector and times.
  { apiGroups: ['encourage.dev'], resources: ['experiments/status'], verbs: ['get', 'patch'] },
  // Owner references with blockOwnerDeletion (OwnerReferencesPermissionEnforcement admission).
  { apiGroups: ['encourage.dev'], resources: ['experiments/finalizers'], verbs: ['update'] },
  // Informers on the experiment's objects; create the missing, delete the failed or surplus.
  { apiGroups: [''], resources: ['pods', 'services', 'secrets'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  // Events on Experiments (kubectl describe).
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

/** ServiceAccount `encourage-coordinator` (a Role in each experiment namespace): progress into the status. */
export const COORDINATOR_RULES: readonly PolicyRule[] = [{ apiGroups: ['encourage.dev'], resources: ['experiments/status'], verbs: ['get', 'patch'] }];

/** Whether `rules` allow `verb` on `resource` (`plural` or `plural/subresource`) of `apiGroup`. */
export function rulesAllow(rules: readonly PolicyRule[], apiGroup: string, resource: string, verb: string): boolean {
  return rules.some((r) => (r.apiGroups.includes('*') || r.apiGroups.includes(apiGroup)) && (r.resources.includes('*') || r.resources.includes(resource)) && (r.verbs.includes('*') || r.verbs.includes(verb)));
}
