/**
 * Multi-document YAML manifests (`---`-separated) as kubectl reads them. Parsed as YAML 1.1, the
 * dialect of kubectl's sigs.k8s.io/yaml (go-yaml v2), so `on`/`yes` become booleans here exactly
 * as they would on a cluster, and a quoted "True" stays a string.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { InputError } from '../../core/errors.js';

/** One object of a manifest file. */
export interface ManifestDocument {
  /** The file it came from (as given). */
  readonly file: string;
  /** 0-based index of the document within the file (empty documents count). */
  readonly index: number;
  /** The parsed object. */
  readonly object: Record<string, unknown>;
}

/**
 * Parse every non-empty document of a YAML text; `source` names it in errors. A document that is
 * not a mapping, or a YAML syntax error, is an `InputError` naming the source and line.
 */
export function parseManifests(text: string, source: string): ManifestDocument[] {
  const out: ManifestDocument[] = [];
  parseAllDocuments(text, { version: '1.1', prettyErrors: true, uniqueKeys: true }).forEach((doc, index) => {
    const error = doc.errors[0];
    if (error !== undefined) throw new InputError(`YAML document ${index}: ${error.message}`, source, error.pos[0]);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(`YAML document ${index} is not a mapping (got ${Array.isArray(value) ? 'a list' : typeof value})`, source);
    out.push({ file: source, index, object: value as Record<string, unknown> });
  });
  return out;
}

/** Read and parse a manifest file (see `parseManifests`). */
export async function readManifests(file: string): Promise<ManifestDocument[]> {
  return parseManifests(await readFile(file, 'utf8'), file);
}

/** `Kind namespace/name` of an object, for messages and for matching objects across files. */
export function objectLabel(obj: Record<string, unknown>): string {
  const meta = (obj['metadata'] ?? {}) as Record<string, unknown>;
  const ns = meta['namespace'];
  return `${String(obj['kind'] ?? '(no kind)')} ${typeof ns === 'string' ? `${ns}/` : ''}${String(meta['name'] ?? '(unnamed)')}`;
}
