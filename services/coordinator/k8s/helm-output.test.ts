import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitHelmOutput, GENERATED_HEADER } from './helm-output.js';
import { InputError } from '../../core/errors.js';

// The shape of `helm template` output: documents led by `# Source:` comments, install-ordered.
const RENDERED = `---
# Source: encourage/templates/rbac-coordinator.yaml
---
# Source: encourage/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: encourage-operator
  labels:
    app.kubernetes.io/managed-by: Helm
---
# Source: encourage/templates/rbac-coordinator.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: encourage-coordinator
---
# Source: encourage/templates/rbac-coordinator.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: encourage-coordinator
---
# Source: encourage/templates/tests/test-grpc-health.yaml
apiVersion: v1
kind: Pod
metadata:
  name: encourage-test-grpc-health
`;

test('helm template output splits into one plain file per template, helm test hooks excluded', () => {
  const files = splitHelmOutput(RENDERED, 'encourage');
  assert.deepEqual([...files.keys()], ['serviceaccount.yaml', 'rbac-coordinator.yaml']);
  const sa = files.get('serviceaccount.yaml')!;
  assert.ok(sa.startsWith(GENERATED_HEADER));
  assert.match(sa, /managed-by: kubectl$/m);
  assert.doesNotMatch(sa, /managed-by: Helm/);
  const rbac = files.get('rbac-coordinator.yaml')!;
  assert.equal(rbac.match(/^---$/gm)?.length, 2, 'both documents of the template, the empty one dropped');
  assert.ok(rbac.indexOf('kind: ServiceAccount') < rbac.indexOf('kind: Role'), 'helm\'s order is kept');
});

test('a document without a Source line is an error naming it', () => {
  assert.throws(() => splitHelmOutput('---\napiVersion: v1\nkind: ConfigMap\n', 'encourage'), (err: unknown) => err instanceof InputError && /ConfigMap/.test(err.message));
});
