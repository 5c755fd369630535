/**
 * The Grafana dashboard (`helm/encourage/dashboards/encourage.json`) as data: every PromQL
 * expression in it, with Grafana's variables substituted, so tests can run each one against a
 * real Prometheus. Grafana's own rules for the built-ins are followed
 * (https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/):
 * `$__rate_interval` is at least four scrape intervals, `$__interval` the step of the graph.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Path of the dashboard in a checkout (this file runs from dist/services/core/metrics/). */
export const DASHBOARD_PATH = fileURLToPath(new URL('../../../../helm/encourage/dashboards/encourage.json', import.meta.url));
/** Path of the Prometheus rule file and its unit tests. */
export const RULES_DIR = fileURLToPath(new URL('../../../../helm/encourage/prometheus/', import.meta.url));

export interface DashboardTarget {
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly expr?: string;
  readonly refId?: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly DashboardTarget[];
  readonly panels?: readonly DashboardPanel[];
}

export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { readonly query: string };
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly multi?: boolean;
  readonly includeAll?: boolean;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly DashboardVariable[] };
}

/** One query of the dashboard: where it is and its PromQL. */
export interface DashboardQuery {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export async function readDashboard(path = DASHBOARD_PATH): Promise<Dashboard> {
  return JSON.parse(await readFile(path, 'utf8')) as Dashboard;
}

/** Every panel, rows' collapsed children included, rows themselves excluded. */
export function dashboardPanels(dash: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  const walk = (panels: readonly DashboardPanel[]) => {
    for (const p of panels) {
      if (p.type !== 'row') out.push(p);
      if (p.panels !== undefined) walk(p.panels);
    }
  };
  walk(dash.panels);
  return out;
}

/**
 * Every PromQL expression: panel targets, plus query variables (`label_values(m, l)` becomes
 * `group by (l) (m)`, the series Grafana's variable query reads).
 */
export function dashboardQueries(dash: Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const p of dashboardPanels(dash)) for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ panel: p.title, refId: t.refId ?? '?', expr: t.expr });
  for (const v of dash.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(q);
    if (m === null) throw new Error(`variable ${v.name}: unsupported query ${JSON.stringify(q)}`);
    out.push({ panel: `variable $${v.name}`, refId: v.name, expr: `group by (${m[2]}) (${m[1]})` });
  }
  return out;
}

/** Values for Grafana's built-in interval variables, given the Prometheus scrape interval. */
export function builtinIntervals(scrapeSeconds: number, stepSeconds = scrapeSeconds): Record<string, string> {
  // $__rate_interval = max($__interval + scrape interval, 4 × scrape interval).
  const rate = Math.max(stepSeconds + scrapeSeconds, 4 * scrapeSeconds);
  return { __rate_interval: `${rate}s`, __interval: `${stepSeconds}s`, __range: '1h' };
}

/**
 * Substitute `$name`, `${name}` and `[[name]]` from `vars`. Throws naming the variable when the
 * expression uses one that is not given, so a new variable cannot slip past the tests.
 */
export function substituteVariables(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined, c: string | undefined) => {
    const name = (a ?? b ?? c)!;
    const value = vars[name];
    if (value === undefined) throw new Error(`expression uses $${name}, which has no value: ${expr}`);
    return value;
  });
}
