/**
 * Label and field selectors as the API server parses them
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors):
 * equality (`k=v`, `k==v`, `k!=v`), existence (`k`, `!k`) and set-based (`k in (a,b)`,
 * `k notin (a,b)`) requirements, comma-separated; field selectors support `=`, `==`, `!=` on the
 * fields the fake server knows.
 */

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

type Requirement = { key: string; op: 'exists' | '!exists' | 'in' | 'notin'; values: string[] };
export type Matcher = (labels: Record<string, string> | undefined) => boolean;

/** Split on commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function parseRequirement(part: string): Requirement {
  let m: RegExpExecArray | null;
  if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part)) !== null) {
    return { key: checkKey(m[1]!, part), op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) };
  }
  if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part)) !== null) {
    return { key: checkKey(m[1]!, part), op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
  }
  if ((m = /^!\s*(\S+)$/.exec(part)) !== null) return { key: checkKey(m[1]!, part), op: '!exists', values: [] };
  return { key: checkKey(part, part), op: 'exists', values: [] };
}

function checkKey(key: string, part: string): string {
  if (!KEY.test(key)) throw new SelectorError(`invalid label selector requirement ${JSON.stringify(part)}`);
  return key;
}

/** Parse a label selector; the empty selector matches everything. */
export function parseLabelSelector(selector: string | null): Matcher {
  if (selector === null || selector.trim() === '') return () => true;
  const reqs = splitTop(selector).map(parseRequirement);
  return (labels) =>
    reqs.every((r) => {
      const v = labels?.[r.key];
      switch (r.op) {
        case 'exists':
          return v !== undefined;
        case '!exists':
          return v === undefined;
        case 'in':
          return v !== undefined && r.values.includes(v);
        case 'notin':
          return v === undefined || !r.values.includes(v);
      }
    });
}

/** Fields a field selector may name, per resource (what the real API server supports for them, subset). */
const FIELDS: Record<string, readonly string[]> = {
  pods: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase'],
  default: ['metadata.name', 'metadata.namespace'],
};

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

/** Parse a field selector for `resource`; unknown fields are a 400, as on a real server. */
export function parseFieldSelector(selector: string | null, resource: string): (obj: unknown) => boolean {
  if (selector === null || selector.trim() === '') return () => true;
  const allowed = FIELDS[resource] ?? FIELDS['default']!;
  const reqs = splitTop(selector).map((part) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m === null) throw new SelectorError(`invalid field selector ${JSON.stringify(part)}`);
    if (!allowed.includes(m[1]!)) throw new SelectorError(`field label not supported: ${m[1]}`);
    return { path: m[1]!, negate: m[2] === '!=', value: m[3]! };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.negate);
}
