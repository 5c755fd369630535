/**
 * The renderer on its own: vega-lite → vega SVG (with the report's font) → PNG at PNG_SCALE×;
 * a spec vega-lite rejects becomes a ChartRenderError naming the chart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TopLevelSpec } from 'vega-lite';
import { CHART_FONT, frame, PNG_SCALE, type ChartDef } from './chart-style.js';
import { ChartRenderError } from './errors.js';
import { chartSvg, renderChart } from './render-chart.js';

const chart = (spec: object): ChartDef => ({ id: 'unit-bars', run: null, title: 'bars', caption: '', spec: spec as TopLevelSpec });
const BARS = { ...frame('Bars', 'three of them'), data: { values: [{ k: 'a', v: 1 }, { k: 'b', v: 3 }, { k: 'c', v: 2 }] }, mark: 'bar', encoding: { x: { field: 'k', type: 'nominal' }, y: { field: 'v', type: 'quantitative' } } };

test('a chart renders to SVG text in the report font and to a PNG at PNG_SCALE×', async () => {
  const svg = await chartSvg(chart(BARS));
  assert.match(svg, /^<svg /);
  assert.ok(svg.includes(CHART_FONT), 'titles and axes name the installed font');
  assert.ok(svg.includes('>Bars<') && svg.includes('>three of them<'));
  const { png, width, height } = await renderChart(chart(BARS));
  assert.equal(png.readUInt32BE(16), width * PNG_SCALE);
  assert.equal(png.readUInt32BE(20), height * PNG_SCALE);
  assert.ok(width > 560 && height > 220, `${width}×${height}: plot area plus axes and title`);
});

test('a spec that cannot be compiled is a ChartRenderError naming the chart', async () => {
  await assert.rejects(renderChart(chart({ ...BARS, mark: 'no-such-mark' })), (err: unknown) => {
    assert.ok(err instanceof ChartRenderError);
    assert.equal(err.chartId, 'unit-bars');
    assert.match(err.message, /^could not render chart unit-bars: /);
    return true;
  });
});
