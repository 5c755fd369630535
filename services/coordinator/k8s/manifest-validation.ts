/**
 * Offline validation of Kubernetes objects — what lets CI check the manifests in `k8s/`, the Helm
 * chart's rendered output and the operator's generated objects without a cluster.
 *
 * API (small on purpose; the operator's tests reuse it):
 * - `validateK8sObject(obj, { crds })` — a built-in kind against the Kubernetes OpenAPI schema
 *   (kubernetes-models' per-kind class `.validate()`) plus kubectl's strict unknown-field check;
 *   a custom resource against its CRD when that CRD is passed in `crds`.
 * - `validateAgainstCrd(crd, obj)` — a custom resource against its CRD's openAPIV3Schema (see
 *   crd-schema.ts); returns the defaulted object.
 * Both throw `ManifestInvalidError` naming the object and the failing field path, or
 * `UnknownKindError` when no schema is available for the apiVersion/kind.
 *
 * kubernetes-models and ajv are devDependencies: this module is for tests and tooling, not for
 * code that runs in the production image.
 */
import { ManifestInvalidError, UnknownKindError } from '../errors.js';
import { validateAgainstCrd } from './crd-schema.js';
import { findUnknownField, rootModelName } from './known-fields.js';
import { objectLabel } from './yaml-documents.js';

export { validateAgainstCrd } from './crd-schema.js';

/** Options of `validateK8sObject`. */
export interface ValidateOptions {
  /** CustomResourceDefinitions whose kinds are validated against their own schema. */
  readonly crds?: readonly Record<string, unknown>[];
  /** Source of the object (file, document index) for error messages. */
  readonly source?: string;
}

/** A kubernetes-models class: constructed from data, `validate()` throws with ajv errors. */
type ModelCtor = new (data: unknown) => { validate(): void };

const API_VERSION = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

async function loadModel(apiVersion: string, kind: string): Promise<ModelCtor | string> {
  // The package exports one module per kind at `<group>/<version>/<Kind>` (`v1/<Kind>` for core).
  try {
    const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, unknown>;
    const ctor = mod[kind];
    return typeof ctor === 'function' ? (ctor as ModelCtor) : `kubernetes-models/${apiVersion}/${kind} has no class ${kind}`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return `not a built-in kind known to kubernetes-models (${code})`;
    throw err;
  }
}

function ajvPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '') || '(root)';
}

/**
 * Validate one Kubernetes object. Built-in kinds (any apiVersion/kind kubernetes-models has) are
 * checked against the Kubernetes OpenAPI schema and for unknown fields; kinds defined by one of
 * `options.crds` against that CRD. Throws `ManifestInvalidError` (object, field path, problem)
 * or `UnknownKindError`.
 */
export async function validateK8sObject(obj: unknown, options: ValidateOptions = {}): Promise<void> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ManifestInvalidError(options.source ?? '(object)', '(root)', 'must be a mapping', obj);
  const doc = obj as Record<string, unknown>;
  const label = `${objectLabel(doc)}${options.source === undefined ? '' : ` (${options.source})`}`;
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion)) throw new ManifestInvalidError(label, 'apiVersion', 'must be <group>/<version> or a core version such as v1', apiVersion);
  if (typeof kind !== 'string' || !KIND.test(kind)) throw new ManifestInvalidError(label, 'kind', 'must be a CamelCase kind name', kind);

  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const crd = options.crds?.find((c) => {
    const spec = c['spec'] as { group?: string; names?: { kind?: string } } | undefined;
    return spec?.group === group && spec?.names?.kind === kind;
  });
  if (crd !== undefined) {
    try {
      validateAgainstCrd(crd, doc);
    } catch (err) {
      if (!(err instanceof ManifestInvalidError) || options.source === undefined) throw err;
      throw new ManifestInvalidError(`${err.object} (${options.source})`, err.path, err.problem, err.value);
    }
    return;
  }

  const model = await loadModel(apiVersion, kind);
  if (typeof model === 'string') throw new UnknownKindError(apiVersion, kind, label, model);
  try {
    new model(doc).validate();
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[] }).errors;
    const first = errors?.find((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf') ?? errors?.[0];
    if (first === undefined) throw err;
    const missing = first.keyword === 'required' ? String(first.params['missingProperty']) : undefined;
    let value: unknown = doc;
    for (const p of first.instancePath.split('/').slice(1)) value = (value as Record<string, unknown> | undefined)?.[p];
    throw new ManifestInvalidError(label, ajvPath(first.instancePath, missing), missing !== undefined ? 'required field missing' : (first.message ?? first.keyword), missing !== undefined ? undefined : value);
  }
  const modelName = rootModelName(apiVersion, kind);
  if (modelName === undefined) throw new UnknownKindError(apiVersion, kind, label, 'no field list in @kubernetes/client-node for the unknown-field check');
  const unknown = findUnknownField(doc, modelName);
  if (unknown !== undefined) throw new ManifestInvalidError(label, unknown.path, 'unknown field', unknown.value);
}
