/**
 * Run-level metrics: the merged figures the coordinator writes to `metrics.jsonl`, turned into
 * Prometheus series as each record is written (RunDir.onRecord). One `step` record updates the
 * training loss, accuracy and confidence-bin series; one `epoch` record the epoch and test
 * figures; the `summary` record marks the run finished.
 *
 * The paper's question — do well-classified examples still contribute gradient? — is answered by
 * two counters per p_y bin (examples, and the summed per-example logit-gradient norm ‖∂L/∂f‖), so
 * PromQL can form the mean norm and the share of gradient mass over any window; gauges repeat the
 * last step's values for tables and quick looks.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MetricsRecord } from '../../core/training/run-dir.js';
import { OptionalGauge } from '../../core/metrics/optional-gauge.js';
import { metricName, STEP_SECONDS_BUCKETS } from '../../core/metrics/registry.js';

/** Label value of bin b: `lo-hi` as the edges are written (`0.9-0.99`); sorts in bin order. */
export function binLabels(edges: readonly number[]): string[] {
  return edges.slice(0, -1).map((lo, b) => `${lo}-${edges[b + 1]}`);
}

/** Loss parts: in training loss = base + bonus; at test time the loss is the base alone and the bonus is reported beside it. */
const LOSS_PARTS = ['base', 'bonus'] as const;

export class RunMetrics {
  /** Global step of the last merged step (0 before the first), for log lines. */
  lastStep = 0;
  private readonly bins: string[];
  private epochInProgress = 0;
  private epochCorrect = 0;
  private epochExamples = 0;
  private readonly now: () => number;

  private readonly step: Gauge;
  private readonly epoch: Gauge;
  private readonly lastStepTime: Gauge;
  private readonly finished: Gauge;
  private readonly learningRate: OptionalGauge;
  private readonly trainLoss: OptionalGauge;
  private readonly trainLossPart: Gauge<'part'>;
  private readonly examples: Counter;
  private readonly correct: Counter;
  private readonly runningAccuracy: OptionalGauge;
  private readonly epochAccuracy: OptionalGauge;
  private readonly stepSeconds: Histogram;
  private readonly binExamples: Counter<'bin'>;
  private readonly binGradNorm: Counter<'bin'>;
  private readonly binMeanGradNorm: Gauge<'bin'>;
  private readonly binGradMass: Gauge<'bin'>;
  private readonly margin: OptionalGauge;
  private readonly py: OptionalGauge;
  private readonly paramGradNorm: Gauge<'confidence'>;
  private readonly paramGradSamples: Counter;
  private readonly testAccuracy: OptionalGauge;
  private readonly testLoss: OptionalGauge;
  private readonly testLossPart: Gauge<'part'>;
  private readonly testBinAccuracy: Gauge<'bin'>;
  private readonly testBinExamples: Gauge<'bin'>;
  private readonly replicasIdentical: OptionalGauge;

  constructor(registry: Registry, edges: readonly number[], plannedEpochs: number, now: () => number = Date.now) {
    this.bins = binLabels(edges);
    this.now = now;
    const registers = [registry];
    const gauge = <L extends string = never>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name: metricName(name), help, labelNames, registers });
    const optional = (name: string, help: string) => new OptionalGauge({ name: metricName(name), help, registers });
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name: metricName(name), help, labelNames, registers });

    this.step = gauge('step', 'Global step of the last step merged from all ranks.');
    this.epoch = gauge('epoch', 'Epoch (1-based) of the last merged step.');
    gauge('planned_epochs', 'Epochs the run is configured for.').set(plannedEpochs);
    this.lastStepTime = gauge('last_step_timestamp_seconds', 'Unix time of the last merged step (the coordinator start before the first step).');
    this.lastStepTime.set(now() / 1000);
    this.finished = gauge('run_finished', '1 once the run has written its summary, else 0.');
    this.finished.set(0);
    this.learningRate = optional('learning_rate', 'Learning rate of the last merged step.');
    this.trainLoss = optional('train_loss', 'Mean training loss (base + bonus) over the examples of the last merged step.');
    this.trainLossPart = gauge('train_loss_part', 'Mean training loss part over the examples of the last merged step; the parts sum to encourage_train_loss.', ['part']);
    this.examples = counter('train_examples_total', 'Training examples processed by all ranks; rate() is the run\'s samples per second.');
    this.correct = counter('train_correct_total', 'Training examples classified correctly (before the update), all ranks.');
    this.runningAccuracy = optional('train_running_accuracy_ratio', 'Training accuracy of the current epoch so far (0-1).');
    this.epochAccuracy = optional('train_epoch_accuracy_ratio', 'Training accuracy of the last completed epoch (0-1).');
    this.stepSeconds = new Histogram({ name: metricName('step_duration_seconds'), help: 'Duration of a merged data-parallel step: the slowest rank\'s data + compute + all-reduce + update time.', buckets: [...STEP_SECONDS_BUCKETS], registers });
    this.binExamples = counter('confidence_examples_total', 'Training examples per p_y bin (p_y: predicted probability of the true class).', ['bin']);
    this.binGradNorm = counter('logit_grad_norm_total', 'Sum over training examples of the per-example logit-gradient norm ||dL/df||, per p_y bin.', ['bin']);
    this.binMeanGradNorm = gauge('logit_grad_norm_mean', 'Mean per-example logit-gradient norm ||dL/df|| of the last merged step, per p_y bin (absent for bins without examples).', ['bin']);
    this.binGradMass = gauge('logit_grad_mass_ratio', 'Share (0-1) of the last merged step\'s logit-gradient mass coming from each p_y bin.', ['bin']);
    this.margin = optional('margin_mean', 'Mean logit margin f_y - max_{j!=y} f_j over the last merged step.');
    this.py = optional('py_mean', 'Mean p_y over the last merged step.');
    this.paramGradNorm = gauge('param_grad_norm', 'Parameter-gradient norm of the high-confidence (p_y > threshold) vs the other examples of a batch, last sampled step (mean over ranks).', ['confidence']);
    this.paramGradSamples = counter('param_grad_samples_total', 'Steps at which the high/low-confidence parameter-gradient norms were sampled.');
    this.testAccuracy = optional('test_accuracy_ratio', 'Test accuracy at the last evaluation (0-1).');
    this.testLoss = optional('test_loss', 'Mean test loss (the base loss) at the last evaluation.');
    this.testLossPart = gauge('test_loss_part', 'Mean test loss part at the last evaluation (the bonus is reported, not added, at test time).', ['part']);
    this.testBinAccuracy = gauge('test_bin_accuracy_ratio', 'Test accuracy per bin of the predicted class\'s probability at the last evaluation (absent for empty bins).', ['bin']);
    this.testBinExamples = gauge('test_bin_examples', 'Test examples per bin of the predicted class\'s probability at the last evaluation.', ['bin']);
    this.replicasIdentical = optional('replicas_identical', '1 when all replicas\' parameter digests agreed at the last evaluation, 0 when they diverged.');
    // Series exist (at 0) from the start, so rate() and dashboards see every bin from the first scrape.
    for (const bin of this.bins) {
      this.binExamples.labels(bin).inc(0);
      this.binGradNorm.labels(bin).inc(0);
    }
  }

  /** Update the series from one metrics.jsonl record (unknown or malformed fields are skipped). */
  observe(rec: MetricsRecord): void {
    if (rec.type === 'step') this.observeStep(rec);
    else if (rec.type === 'epoch') this.observeEpoch(rec);
    else if (rec.type === 'summary') this.finished.set(1);
  }

  private observeStep(rec: MetricsRecord): void {
    this.lastStep = rec.step;
    this.step.set(rec.step);
    this.lastStepTime.set(this.now() / 1000);
    const epoch = num(rec['epoch']);
    if (epoch !== undefined) {
      this.epoch.set(epoch);
      if (epoch !== this.epochInProgress) {
        this.epochInProgress = epoch;
        this.epochCorrect = 0;
        this.epochExamples = 0;
      }
    }
    setIf(this.learningRate, num(rec['lr']));
    setIf(this.trainLoss, num(rec['loss']));
    for (const part of LOSS_PARTS) setIf(this.trainLossPart.labels(part), num(rec[part]));
    const seconds = num(rec['seconds']);
    if (seconds !== undefined && seconds >= 0) this.stepSeconds.observe(seconds);

    const counts = numbers(rec['binCounts'], this.bins.length);
    const means = numbers(rec['binMeanGradNorm'], this.bins.length);
    const shares = numbers(rec['binGradMassShare'], this.bins.length);
    if (counts !== undefined) {
      const examples = counts.reduce((a, c) => a + c, 0);
      const accuracy = num(rec['accuracy']);
      this.examples.inc(examples);
      if (accuracy !== undefined && Number.isFinite(accuracy)) {
        const correct = Math.round(accuracy * examples);
        this.correct.inc(correct);
        this.epochCorrect += correct;
        this.epochExamples += examples;
        if (this.epochExamples > 0) this.runningAccuracy.update(this.epochCorrect / this.epochExamples);
      }
      this.bins.forEach((bin, b) => {
        const count = counts[b]!;
        this.binExamples.labels(bin).inc(count);
        if (means === undefined) return;
        if (count > 0 && Number.isFinite(means[b]!)) {
          this.binGradNorm.labels(bin).inc(means[b]! * count);
          this.binMeanGradNorm.labels(bin).set(means[b]!);
        } else {
          this.binMeanGradNorm.remove(bin);
        }
      });
    }
    if (shares !== undefined) this.bins.forEach((bin, b) => this.binGradMass.labels(bin).set(shares[b]!));
    setIf(this.margin, num(rec['meanMargin']));
    setIf(this.py, num(rec['meanPy']));
    const high = num(rec['paramGradNormHigh']);
    const low = num(rec['paramGradNormLow']);
    if (high !== undefined && low !== undefined) {
      this.paramGradNorm.labels('high').set(high);
      this.paramGradNorm.labels('low').set(low);
      this.paramGradSamples.inc();
    }
  }

  private observeEpoch(rec: MetricsRecord): void {
    setIf(this.epochAccuracy, num(rec['trainAccuracy']));
    const identical = rec['replicasIdentical'];
    if (typeof identical === 'boolean') this.replicasIdentical.update(identical ? 1 : 0);
    const testAccuracy = num(rec['testAccuracy']);
    if (testAccuracy === undefined) return; // an epoch without evaluation (--eval-every)
    this.testAccuracy.update(testAccuracy);
    setIf(this.testLoss, num(rec['testLoss']));
    setIf(this.testLossPart.labels('base'), num(rec['testBase']));
    setIf(this.testLossPart.labels('bonus'), num(rec['testBonus']));
    const binExamples = numbers(rec['testBinExamples'], this.bins.length);
    const binAccuracy = rec['testBinAccuracy'];
    if (binExamples === undefined || !Array.isArray(binAccuracy) || binAccuracy.length !== this.bins.length) return;
    this.bins.forEach((bin, b) => {
      this.testBinExamples.labels(bin).set(binExamples[b]!);
      const acc = num(binAccuracy[b]);
      if (acc === undefined) this.testBinAccuracy.remove(bin);
      else this.testBinAccuracy.labels(bin).set(acc);
    });
  }
}

/** A number (NaN included: a diverged loss must show as NaN, not vanish), else undefined. */
function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** An array of exactly `length` numbers, else undefined. */
function numbers(v: unknown, length: number): number[] | undefined {
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number')) return undefined;
  return v as number[];
}

function setIf(g: { set(v: number): void } | OptionalGauge, v: number | undefined): void {
  if (v === undefined) return;
  if (g instanceof OptionalGauge) g.update(v);
  else g.set(v);
}
