/**
 * Chart rendering without a browser: vega-lite compiles the spec to a vega spec, a headless vega
 * `View` (renderer 'none', https://vega.github.io/vega/docs/api/view/#view_toSVG) writes SVG, and
 * resvg rasterises the SVG to PNG with the system's fonts. No canvas or DOM package is needed:
 * vega estimates text widths when no canvas is available, which is fine for axis layout.
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { CHART_FONT, PNG_SCALE, type ChartDef } from './chart-style.js';
import { ChartRenderError } from './errors.js';

export interface RenderedChart {
  readonly png: Buffer;
  /** Size in CSS pixels (the PNG holds PNG_SCALE× as many). */
  readonly width: number;
  readonly height: number;
}

/** Render the chart's SVG (vega-lite → vega → SVG). */
export async function chartSvg(chart: ChartDef): Promise<string> {
  const view = new View(parse(compile(chart.spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Render the chart to PNG; a failure is a ChartRenderError naming the chart. */
export async function renderChart(chart: ChartDef): Promise<RenderedChart> {
  try {
    const svg = await chartSvg(chart);
    const image = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
      fitTo: { mode: 'zoom', value: PNG_SCALE },
      background: 'white',
    }).render();
    const png = image.asPng();
    return { png, width: Math.round(image.width / PNG_SCALE), height: Math.round(image.height / PNG_SCALE) };
  } catch (err) {
    throw new ChartRenderError(chart.id, { cause: err });
  }
}
