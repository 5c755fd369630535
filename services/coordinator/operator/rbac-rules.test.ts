/**
 * The operator's and coordinator's rules (rbac-rules.ts, enforced by the fake API server in the
 * end-to-end test) are granted by the chart's rendered ClusterRole and Role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { COORDINATOR_RULES, OPERATOR_RULES, rulesAllow, type PolicyRule } from './rbac-rules.js';

function rulesOf(file: string, kind: string): PolicyRule[] {
  const docs = parseAllDocuments(readFileSync(new URL(`../../../../k8s/operator/${file}`, import.meta.url), 'utf8')).map((d) => d.toJS() as { kind?: string; rules?: PolicyRule[] } | null);
  const role = docs.find((d) => d?.kind === kind);
  assert.ok(role?.rules, `${kind} in k8s/operator/${file}`);
  return role.rules;
}

const expand = (rules: readonly PolicyRule[]) => rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`))));

test('the chart grants the operator every right it uses', () => {
  const chart = rulesOf('rbac-operator.yaml', 'ClusterRole');
  for (const right of expand(OPERATOR_RULES)) {
    const [g, res, v] = right.split('|') as [string, string, string];
    assert.ok(rulesAllow(chart, g, res, v), `ClusterRole encourage-operator lacks ${v} ${res} (${g || 'core'})`);
  }
  // Granted but never used by this operator (merge patches only): reported, not required.
  const unused = expand(chart).filter((r) => !expand(OPERATOR_RULES).includes(r));
  assert.deepEqual(unused.sort(), ['encourage.dev|experiments/status|update', 'encourage.dev|experiments|update']);
});

test('the coordinator may patch its Experiment’s status and nothing else', () => {
  assert.deepEqual(expand(rulesOf('rbac-coordinator.yaml', 'Role')).sort(), expand(COORDINATOR_RULES).sort());
  assert.equal(rulesAllow(COORDINATOR_RULES, 'encourage.dev', 'experiments', 'patch'), false);
  assert.equal(rulesAllow(COORDINATOR_RULES, '', 'pods', 'get'), false);
});
