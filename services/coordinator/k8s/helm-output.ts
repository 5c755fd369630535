/**
 * The link between the Helm chart and the plain manifests in `k8s/operator/`: `helm template`
 * output split by the template that produced each document (its `# Source:` comment), with the
 * Helm-only label value replaced, so the plain files are the chart's default rendering for
 * release "encourage" in namespace "encourage" (scripts/check-chart.sh writes and diffs them).
 */
import { InputError } from '../../core/errors.js';

/** Header of every generated plain-manifest file. */
export const GENERATED_HEADER = '# Generated from helm/encourage by `scripts/check-chart.sh --write` (helm template encourage helm/encourage -n encourage). Do not edit.\n';

/** Templates whose output is not a plain manifest: `helm test` hooks. */
export function isPlainManifestSource(source: string): boolean {
  return !source.includes('/templates/tests/');
}

/**
 * Split `helm template` output into the documents of each template file: a map from the template
 * path relative to `templates/` (e.g. `deployment.yaml`) to its documents joined with `---`, in
 * Helm's install order. Documents without content (only comments) are dropped.
 */
export function splitHelmOutput(text: string, chart: string): Map<string, string> {
  const out = new Map<string, string[]>();
  const prefix = `# Source: ${chart}/templates/`;
  for (const raw of text.split(/^---\s*$/m)) {
    const doc = raw.replace(/^\n+/, '');
    const lines = doc.split('\n');
    const sourceLine = lines.find((l) => l.startsWith('# Source: '));
    const hasContent = lines.some((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    if (!hasContent) continue;
    if (sourceLine === undefined || !sourceLine.startsWith(prefix)) throw new InputError(`a document without a "${prefix}…" line: ${JSON.stringify(doc.slice(0, 80))}`, 'helm template output');
    const source = sourceLine.slice('# Source: '.length);
    if (!isPlainManifestSource(source)) continue;
    const file = sourceLine.slice(prefix.length);
    out.set(file, [...(out.get(file) ?? []), plainLabels(doc).trimEnd() + '\n']);
  }
  return new Map([...out].map(([file, docs]) => [file, GENERATED_HEADER + docs.map((d) => `---\n${d}`).join('')]));
}

/** Objects applied with kubectl are not managed by Helm: say so in the standard label. */
function plainLabels(doc: string): string {
  return doc.replace(/^(\s*app\.kubernetes\.io\/managed-by:) Helm$/gm, '$1 kubectl');
}
