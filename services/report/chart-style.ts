/**
 * What every chart shares: the definition type handed from the spec builders to the renderer and
 * the HTML page, and one vega-lite config (font, sizes, colours) so all charts look alike.
 */
import type { TopLevelSpec } from 'vega-lite';

/**
 * The font the charts name. Vega only writes the family into the SVG; resvg resolves it against
 * the system fonts, so it must be installed: Debian `fonts-dejavu-core` (in `.ci/run`).
 */
export const CHART_FONT = 'DejaVu Sans';
/** Plot-area size in CSS pixels; the PNG is rendered at `PNG_SCALE`× for sharp text on HiDPI screens. */
export const CHART_WIDTH = 560;
export const CHART_HEIGHT = 220;
export const PNG_SCALE = 2;

/** Most points a per-step series gets (longer runs are averaged over buckets of steps). */
export const MAX_LINE_POINTS = 400;
/**
 * Most points per run in the comparison's per-step share: batches of 32–128 examples make the
 * per-step share noisy, and several runs overlaid need smoother lines to be told apart.
 */
export const MAX_COMPARISON_POINTS = 80;
/** Most columns of the bins × steps heatmap. */
export const MAX_HEATMAP_COLUMNS = 120;

/** One chart: a vega-lite spec plus the words the HTML page shows with it. */
export interface ChartDef {
  /** Unique within a report; also the PNG's file name (`<id>.png`). */
  readonly id: string;
  /** Which run it belongs to (its label), or null for a comparison of runs. */
  readonly run: string | null;
  /** The chart's title (also the image's alt text). */
  readonly title: string;
  /** How to read it, for the figure caption. */
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

/** A chart that has nothing to plot for a run, and why (shown in the report instead). */
export interface SkippedChart {
  readonly id: string;
  readonly run: string | null;
  readonly title: string;
  readonly reason: string;
}

/** The vega-lite `config` block every chart uses. */
export const CHART_CONFIG = {
  font: CHART_FONT,
  background: 'white',
  padding: 10,
  title: { anchor: 'start', fontSize: 14, fontWeight: 'bold', subtitleFontSize: 11, subtitleColor: '#555555', offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelLimit: 320, orient: 'bottom', direction: 'horizontal', columns: 3 },
  view: { stroke: null },
  line: { strokeWidth: 2 },
} as const;

/** Categorical colours: runs in comparisons, series within a run (Tableau 10, colour-blind friendlier than category10). */
export const CATEGORY_SCHEME = 'tableau10';

/** The step axis every per-step chart shares: whole steps, no padding past the last one. */
export function stepX(field = 'step'): { field: string; type: 'quantitative'; title: string; scale: { nice: false }; axis: { format: 'd'; tickMinStep: 1 } } {
  return { field, type: 'quantitative', title: 'step', scale: { nice: false }, axis: { format: 'd', tickMinStep: 1 } };
}

/** Size, title and config shared by every chart. */
export interface ChartFrame {
  readonly $schema: string;
  readonly width: number;
  readonly height: number;
  readonly title: { readonly text: string; readonly subtitle: string };
  readonly config: typeof CHART_CONFIG;
}

/** The frame of a chart titled `title` (and `subtitle`, in grey below it). */
export function frame(title: string, subtitle: string): ChartFrame {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: CHART_WIDTH, height: CHART_HEIGHT, title: { text: title, subtitle }, config: CHART_CONFIG };
}
