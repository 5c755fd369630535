/**
 * The two patch formats the fake API server accepts, as the real one does for custom resources:
 * JSON Patch (RFC 6902, `application/json-patch+json`, client-node's default for patch calls) and
 * JSON Merge Patch (RFC 7386, `application/merge-patch+json`). Both work on deep copies.
 */

export class PatchError extends Error {
  override readonly name = 'PatchError';
  constructor(
    message: string,
    /** A failed `test` operation (the API server answers 422, not 400). */
    readonly testFailed = false,
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? structuredClone(target as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** RFC 6901 pointer → unescaped tokens. */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, toks: string[], pointer: string): { parent: Json; key: string } {
  let cur: Json = doc;
  for (const t of toks.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, pointer, false)] as Json;
    else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, t)) cur = cur[t] as Json;
    else throw new PatchError(`path ${pointer} does not exist`);
  }
  return { parent: cur, key: toks[toks.length - 1]! };
}

function arrayIndex(arr: Json[], t: string, pointer: string, forAdd: boolean): number {
  if (forAdd && t === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(t)) throw new PatchError(`invalid array index ${JSON.stringify(t)} in ${pointer}`);
  const i = Number(t);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of range in ${pointer}`);
  return i;
}

function get(doc: Json, pointer: string): Json {
  let cur: Json = doc;
  for (const t of tokens(pointer)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, pointer, false)] as Json;
    else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, t)) cur = cur[t] as Json;
    else throw new PatchError(`path ${pointer} does not exist`);
  }
  return cur;
}

function add(doc: Json, pointer: string, value: Json): Json {
  const toks = tokens(pointer);
  if (toks.length === 0) return value;
  const { parent, key } = parentOf(doc, toks, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, value);
  else if (typeof parent === 'object' && parent !== null) parent[key] = value;
  else throw new PatchError(`cannot add below a scalar at ${pointer}`);
  return doc;
}

function remove(doc: Json, pointer: string): Json {
  const toks = tokens(pointer);
  if (toks.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, key } = parentOf(doc, toks, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else if (typeof parent === 'object' && parent !== null && Object.hasOwn(parent, key)) delete parent[key];
  else throw new PatchError(`path ${pointer} does not exist`);
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** RFC 6902: apply `ops` in order; any failing op rejects the whole patch. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = structuredClone(target) as Json;
  for (const raw of ops) {
    const op = raw as { op?: unknown; path?: unknown; from?: unknown; value?: unknown };
    if (typeof op.path !== 'string') throw new PatchError(`operation without a path: ${JSON.stringify(raw)}`);
    const value = op.value as Json;
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw new PatchError(`add without a value at ${op.path}`);
        doc = add(doc, op.path, structuredClone(value));
        break;
      case 'remove':
        doc = remove(doc, op.path);
        break;
      case 'replace':
        if (!('value' in op)) throw new PatchError(`replace without a value at ${op.path}`);
        get(doc, op.path);
        doc = op.path === '' ? structuredClone(value) : add(remove(doc, op.path), op.path, structuredClone(value));
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`${op.op} without from`);
        const v = structuredClone(get(doc, op.from));
        if (op.op === 'move') doc = remove(doc, op.from);
        doc = add(doc, op.path, v);
        break;
      }
      case 'test':
        if (!deepEqual(get(doc, op.path), value)) throw new PatchError(`test failed at ${op.path}`, true);
        break;
      default:
        throw new PatchError(`unknown operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
