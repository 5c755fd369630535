/**
 * Unknown-field detection for built-in Kubernetes objects. The OpenAPI schemas behind
 * kubernetes-models' `validate()` do not forbid additional properties, so a typo such as
 * `imagePullPolcy` would pass them — while kubectl (strict field validation, the default since
 * Kubernetes 1.27) rejects it. The field lists come from @kubernetes/client-node's generated
 * models (`attributeTypeMap`, generated from the same OpenAPI document), walked recursively.
 */
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  readonly baseName: string;
  readonly type: string;
}
interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

const models = k8s as unknown as Record<string, ModelClass | undefined>;
/** Types whose content is not described further (free-form or scalar). */
const LEAF_TYPES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString', 'RuntimeRawExtension']);

function modelOf(type: string): ModelClass | undefined {
  const m = models[type];
  return typeof m?.getAttributeTypeMap === 'function' ? m : undefined;
}

/**
 * The client-node model name of a top-level kind: `V1Deployment` for apps/v1 Deployment;
 * kinds defined in several groups carry the group (`CoreV1Event`, `EventsV1Event`).
 */
export function rootModelName(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  const v = version.charAt(0).toUpperCase() + version.slice(1);
  const groupPrefix = group === '' ? 'Core' : group.split('.')[0]!.charAt(0).toUpperCase() + group.split('.')[0]!.slice(1);
  for (const name of [`${v}${kind}`, `${groupPrefix}${v}${kind}`]) {
    const m = modelOf(name);
    if (m?.getAttributeTypeMap().some((a) => a.baseName === 'kind')) return name;
  }
  return undefined;
}

/** A field that the model does not declare. */
export interface UnknownField {
  /** Dotted path, e.g. `spec.template.spec.containers[0].imagePullPolcy`. */
  readonly path: string;
  readonly value: unknown;
}

/** Find the first field of `value` (typed `type`) that its model does not declare, if any. */
export function findUnknownField(value: unknown, type: string, path = ''): UnknownField | undefined {
  if (value === null || value === undefined || LEAF_TYPES.has(type)) return undefined;
  const nullable = / \| null$/.exec(type);
  if (nullable !== null) return findUnknownField(value, type.slice(0, nullable.index), path);
  const array = /^Array<(.+)>$/.exec(type);
  if (array !== null) {
    if (!Array.isArray(value)) return undefined; // wrong types are the schema validator's job
    for (const [i, item] of value.entries()) {
      const found = findUnknownField(item, array[1]!, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map !== null) {
    if (typeof value !== 'object') return undefined;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const found = findUnknownField(v, map[1]!, `${path}[${JSON.stringify(k)}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const model = modelOf(type);
  if (model === undefined || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const childPath = path === '' ? k : `${path}.${k}`;
    const childType = attributes.get(k);
    if (childType === undefined) return { path: childPath, value: v };
    const found = findUnknownField(v, childType, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}
