/**
 * A gauge without labels that is absent from `/metrics` until it is first set. prom-client reports
 * an unset label-less gauge as 0, which for "test accuracy before the first evaluation" or "loss
 * before the first step" is a false figure; an absent series is the Prometheus way to say
 * "not known yet" (https://prometheus.io/docs/practices/instrumentation/#avoid-missing-metrics
 * applies to counters and labelled series, which we do initialise).
 */
import { Gauge, type MetricObjectWithValues, type MetricValue } from 'prom-client';

export class OptionalGauge extends Gauge {
  private known = false;

  /** Set the value and make the series visible. */
  update(value: number): void {
    this.set(value);
    this.known = true;
  }

  /** Hide the series again (e.g. a figure that stopped being meaningful). */
  override reset(): void {
    super.reset();
    this.known = false;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const metric = await super.get();
    return this.known ? metric : { ...metric, values: [] };
  }
}
