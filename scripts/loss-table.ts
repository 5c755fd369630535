/**
 * Prints the gradient-magnitude table of docs/loss.md from the library itself:
 * `npm run -s build && node dist/scripts/loss-table.js`. One example, 10 classes, the target
 * at p_y and the remaining mass spread evenly over the other nine classes.
 */
import * as tf from '@tensorflow/tfjs';
import { lossWithLogitGrad, parseLossOptions } from '../services/core/loss/index.js';

const NUM_CLASSES = 10;
const P_VALUES = [0.1, 0.5, 0.9, 0.99];
const PRESETS = ['ce', 'el', 'el-full', 'mse', 'mae'] as const;

function gradientAt(preset: string, py: number): { dy: number; norm: number } {
  return tf.tidy(() => {
    const rest = Math.log((1 - py) / (NUM_CLASSES - 1));
    const logits = tf.tensor2d([[Math.log(py), ...Array.from({ length: NUM_CLASSES - 1 }, () => rest)]]);
    const r = lossWithLogitGrad(logits, tf.tensor1d([0], 'int32'), parseLossOptions(preset), { epoch: 1, training: true });
    const g = r.gradLogits.dataSync();
    return { dy: g[0]!, norm: Math.hypot(...g) };
  });
}

function fmt(x: number): string {
  return Math.abs(x) >= 1e-3 ? x.toFixed(4) : x.toExponential(2);
}

await tf.setBackend('cpu');
const header = `| loss | ${P_VALUES.map((p) => `p_y = ${p}`).join(' | ')} |`;
const rule = `|---|${P_VALUES.map(() => '---').join('|')}|`;
const lines = [header, rule];
for (const preset of PRESETS) {
  const cells = P_VALUES.map((p) => {
    const { dy, norm } = gradientAt(preset, p);
    return `${fmt(dy)} / ${fmt(norm)}`;
  });
  lines.push(`| \`${preset}\` | ${cells.join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
