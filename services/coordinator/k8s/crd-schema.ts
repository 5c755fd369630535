/**
 * Validate custom resources against their CRD's `openAPIV3Schema` the way the API server does,
 * with ajv. The CRD dialect is OpenAPI v3.0 plus Kubernetes extensions, so the schema is first
 * translated to JSON Schema (draft-07):
 * - `nullable: true` → the type also admits `null`;
 * - boolean `exclusiveMinimum`/`exclusiveMaximum` (OpenAPI 3.0) → numeric bounds (JSON Schema);
 * - fields not declared in `properties` are errors, as with kubectl's default strict field
 *   validation (the server would otherwise prune them silently), unless the node has
 *   `x-kubernetes-preserve-unknown-fields: true` or `additionalProperties`;
 * - `x-kubernetes-int-or-string` → integer or string; `x-kubernetes-embedded-resource` → needs
 *   apiVersion and kind; `x-kubernetes-list-type: set` → unique items, `map` → unique
 *   `x-kubernetes-list-map-keys`;
 * - `default`s are applied (ajv `useDefaults`) and the defaulted object is returned, which is
 *   what `kubectl get -o yaml` shows after creation.
 * CEL rules (`x-kubernetes-validations`) cannot be evaluated here, so a CRD carrying them is
 * refused rather than half-validated. Spec: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ManifestInvalidError, UnsupportedSchemaError } from '../errors.js';

type Schema = Record<string, unknown>;

/** Keywords of the CRD dialect copied unchanged into the JSON Schema. */
const PLAIN_KEYWORDS = ['type', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf', 'format', 'default', 'description'] as const;
/** Keywords accepted and ignored (documentation or API-server behaviour that does not affect validity). */
const IGNORED_KEYWORDS = new Set(['title', 'example', 'externalDocs', 'x-kubernetes-map-type']);

/** Formats the API server checks; others (e.g. `int32`) only annotate. */
const FORMATS: Record<string, RegExp | true> = {
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i,
  date: /^\d{4}-\d{2}-\d{2}$/,
  byte: /^[A-Za-z0-9+/]*={0,2}$/,
  int32: true,
  int64: true,
  float: true,
  double: true,
};

/** Translate one OpenAPI v3.0 (CRD) schema node to JSON Schema; `path` names it in errors. */
export function toJsonSchema(node: Schema, crd: string, path = '(root)'): Schema {
  const out: Schema = {};
  for (const key of Object.keys(node)) {
    if ((PLAIN_KEYWORDS as readonly string[]).includes(key) || IGNORED_KEYWORDS.has(key)) continue;
    if (['properties', 'items', 'additionalProperties', 'required', 'nullable', 'exclusiveMinimum', 'exclusiveMaximum', 'allOf', 'anyOf', 'oneOf', 'not'].includes(key)) continue;
    if (['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys'].includes(key)) continue;
    throw new UnsupportedSchemaError(crd, path, key);
  }
  for (const key of PLAIN_KEYWORDS) if (node[key] !== undefined) out[key] = node[key];
  if (node['required'] !== undefined) out['required'] = node['required'];
  // OpenAPI 3.0 booleans → JSON Schema numeric exclusive bounds.
  if (node['exclusiveMinimum'] === true) {
    out['exclusiveMinimum'] = node['minimum'];
    delete out['minimum'];
  }
  if (node['exclusiveMaximum'] === true) {
    out['exclusiveMaximum'] = node['maximum'];
    delete out['maximum'];
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out['type'];
    out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node['nullable'] === true) {
    if (typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum'])) out['enum'] = [...(out['enum'] as unknown[]), null];
  }
  const properties = node['properties'] as Record<string, Schema> | undefined;
  if (properties !== undefined) {
    out['properties'] = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toJsonSchema(v, crd, `${path === '(root)' ? '' : `${path}.`}${k}`)]));
  }
  const additional = node['additionalProperties'];
  if (additional !== undefined) {
    out['additionalProperties'] = typeof additional === 'boolean' ? additional : toJsonSchema(additional as Schema, crd, `${path}.*`);
  } else if (node['type'] === 'object' && node['x-kubernetes-preserve-unknown-fields'] !== true && node['x-kubernetes-embedded-resource'] !== true) {
    out['additionalProperties'] = false;
  }
  if (node['items'] !== undefined) out['items'] = toJsonSchema(node['items'] as Schema, crd, `${path}[]`);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = node[key] as Schema[] | undefined;
    if (list !== undefined) out[key] = list.map((s, i) => toJsonSchema({ ...s }, crd, `${path}.${key}[${i}]`));
  }
  if (node['not'] !== undefined) out['not'] = toJsonSchema(node['not'] as Schema, crd, `${path}.not`);
  if (node['x-kubernetes-embedded-resource'] === true) {
    out['required'] = [...new Set([...((out['required'] as string[] | undefined) ?? []), 'apiVersion', 'kind'])];
  }
  const listType = node['x-kubernetes-list-type'];
  if (listType === 'set') out['uniqueItems'] = true;
  if (listType === 'map') out['uniqueByKeys'] = node['x-kubernetes-list-map-keys'] ?? [];
  return out;
}

/** The compiled validator of one served version of a CRD. */
interface CompiledCrd {
  readonly name: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly validate: ValidateFunction;
}

const compiled = new WeakMap<object, Map<string, CompiledCrd>>();

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false });
  for (const [name, check] of Object.entries(FORMATS)) ajv.addFormat(name, check);
  // Items of a `x-kubernetes-list-type: map` list are unique by their key fields.
  ajv.addKeyword({
    keyword: 'uniqueByKeys',
    type: 'array',
    schemaType: 'array',
    error: { message: (cxt) => `duplicate entries for the map keys ${JSON.stringify(cxt.schema)}` },
    validate: (keys: string[], data: unknown[]) => {
      const seen = new Set(data.map((item) => JSON.stringify(keys.map((k) => (item as Record<string, unknown> | null)?.[k]))));
      return seen.size === data.length;
    },
  });
  return ajv;
}

function compile(crd: Record<string, unknown>, version: string): CompiledCrd {
  const byVersion = compiled.get(crd) ?? new Map<string, CompiledCrd>();
  compiled.set(crd, byVersion);
  const cached = byVersion.get(version);
  if (cached !== undefined) return cached;
  const spec = crd['spec'] as { group: string; names: { kind: string }; versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[] };
  const name = String((crd['metadata'] as { name?: unknown } | undefined)?.name ?? '(unnamed)');
  const v = spec.versions.find((x) => x.name === version && x.served !== false);
  const schema = v?.schema?.openAPIV3Schema;
  if (schema === undefined) throw new ManifestInvalidError(`CustomResourceDefinition ${name}`, 'spec.versions', `no served version ${version} with an openAPIV3Schema`);
  const root = toJsonSchema(schema, name);
  // The API server validates metadata itself; the CRD may not constrain more than name.
  (root['properties'] as Record<string, Schema>)['metadata'] = {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' } },
  };
  const entry = { name, apiVersion: `${spec.group}/${version}`, kind: spec.names.kind, validate: newAjv().compile(root) };
  byVersion.set(version, entry);
  return entry;
}

/** Dotted field path of an ajv error (`spec.optimizer.momentum`, `spec.workers.tolerations[0]`). */
function fieldPath(err: ErrorObject): string {
  const parts = err.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (err.keyword === 'additionalProperties') parts.push(String(err.params['additionalProperty']));
  if (err.keyword === 'required') parts.push(String(err.params['missingProperty']));
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '') || '(root)';
}

function problemOf(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') return 'unknown field';
  if (err.keyword === 'required') return 'required field missing';
  if (err.keyword === 'enum') return `must be one of ${(err.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return err.message ?? err.keyword;
}

function valueAt(obj: unknown, instancePath: string): unknown {
  let cur = obj;
  for (const p of instancePath.split('/').slice(1)) cur = (cur as Record<string, unknown> | undefined)?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  return cur;
}

/**
 * Validate a custom resource against the CRD that defines it and return a copy with the schema's
 * defaults applied (the input is not modified). Throws `ManifestInvalidError` naming the object
 * and the first failing field path (e.g. `Experiment default/el: spec.optimizer.momentum: must be
 * < 1 (got 1.5)`), or when apiVersion/kind do not belong to this CRD; `UnsupportedSchemaError`
 * when the CRD uses a construct this validator cannot check.
 */
export function validateAgainstCrd(crd: Record<string, unknown>, obj: unknown): Record<string, unknown> {
  const doc = (obj ?? {}) as Record<string, unknown>;
  const meta = (doc['metadata'] ?? {}) as Record<string, unknown>;
  const label = `${String(doc['kind'] ?? '(no kind)')} ${meta['namespace'] === undefined ? '' : `${String(meta['namespace'])}/`}${String(meta['name'] ?? '(unnamed)')}`;
  const apiVersion = String(doc['apiVersion'] ?? '');
  const version = apiVersion.split('/')[1] ?? '';
  const spec = crd['spec'] as { group?: string; names?: { kind?: string } } | undefined;
  if (spec?.group === undefined || spec.names?.kind === undefined) throw new ManifestInvalidError(`CustomResourceDefinition ${String((crd['metadata'] as Record<string, unknown> | undefined)?.['name'])}`, 'spec', 'not a CustomResourceDefinition');
  if (!apiVersion.startsWith(`${spec.group}/`)) throw new ManifestInvalidError(label, 'apiVersion', `must be ${spec.group}/<version>`, doc['apiVersion']);
  if (doc['kind'] !== spec.names.kind) throw new ManifestInvalidError(label, 'kind', `must be ${spec.names.kind}`, doc['kind']);
  const { validate } = compile(crd, version);
  const copy = structuredClone(doc);
  if (!validate(copy)) {
    const errors = validate.errors ?? [];
    // Prefer the most specific error: an unknown field or a bad leaf over an enclosing anyOf.
    const first = errors.find((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf') ?? errors[0]!;
    const at = valueAt(copy, first.instancePath);
    const value = first.keyword === 'required' ? undefined : first.keyword === 'additionalProperties' ? (at as Record<string, unknown>)[String(first.params['additionalProperty'])] : at;
    throw new ManifestInvalidError(label, fieldPath(first), problemOf(first), value);
  }
  return copy;
}
