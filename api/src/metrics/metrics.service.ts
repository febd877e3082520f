import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { countOpen as countOpenTrials } from '../trials/store/trial-store';

/** Prometheus metrics of one API process (scraped at GET /metrics). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly leases = this.counter(
    'meshtune_leases_total',
    'Lease requests, by result (leased = a trial was handed out, empty = 204).',
    ['result'],
  );

  readonly finishedTrials = this.counter(
    'meshtune_trials_completed_total',
    'Trials that ended as an evaluation, by status (completed or failed).',
    ['status'],
  );

  readonly leaseExpiries = this.counter(
    'meshtune_lease_expiries_total',
    'Leases that expired without a result (trial requeued or failed).',
  );

  readonly runnerFailures = this.counter(
    'meshtune_runner_failures_total',
    'Trials failed with kind "runner" (the machine, not the point): requeued, not counted as evaluations.',
  );

  readonly runnerQuarantines = this.counter(
    'meshtune_runner_quarantines_total',
    'Runners quarantined after too many runner failures in a row.',
  );

  readonly engineRebuilds = this.counter(
    'meshtune_engine_rebuilds_total',
    'Study engines rebuilt from their snapshot (first use in this process, or the cached one was behind the pruned events).',
  );

  readonly rateLimited = this.counter(
    'meshtune_rate_limited_total',
    'Requests refused with 429 RATE_LIMITED, by budget (key, project, expensive) or in-flight bound (key-in-flight, project-in-flight).',
    ['budget'],
  );

  readonly rateLimit = new Gauge({
    name: 'meshtune_rate_limit',
    help: 'Configured budget per window of this process, by budget: requests (key, project) or cost points (expensive); or requests at once (key-in-flight, project-in-flight); 0 = off.',
    labelNames: ['budget'] as const,
    registers: [this.registry],
  });

  readonly rateLimitWindow = new Gauge({
    name: 'meshtune_rate_limit_window_seconds',
    help: 'Length of the fixed window the rate-limit budgets are counted over.',
    registers: [this.registry],
  });

  readonly askDuration = new Histogram({
    name: 'meshtune_ask_duration_seconds',
    help: 'Time to restore a study engine, ask it for a point and serialise its state.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'meshtune_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(@InjectDataSource() dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry, prefix: 'meshtune_process_' });
    this.countsGauge(
      'meshtune_open_trials',
      'Trials pending or running, over all studies (read from the database at scrape time).',
      'status',
      ['pending', 'running'],
      async () => (await countOpenTrials(dataSource)).map(({ status, count }) => ({ value: status, count })),
    );
    this.countsGauge(
      'meshtune_runners',
      'Registered runners by health: healthy, unhealthy (a recent runner failure), quarantined (no leases until cleared).',
      'health',
      ['healthy', 'unhealthy', 'quarantined'],
      async () =>
        (await dataSource.query(`SELECT health AS value, COUNT(*)::int AS count FROM runners GROUP BY health`)) as {
          value: string;
          count: number;
        }[],
    );
  }

  /** A counter of this process's registry. */
  private counter<T extends string = string>(name: string, help: string, labelNames?: readonly T[]): Counter<T> {
    return new Counter({ name, help, labelNames: labelNames ?? [], registers: [this.registry] });
  }

  /**
   * A gauge of counts by `label`, read from the database at scrape time: each of `values` is set,
   * to 0 when `read` has no row for it (a value that disappears must not keep its last count).
   */
  private countsGauge(
    name: string,
    help: string,
    label: string,
    values: readonly string[],
    read: () => Promise<{ value: string; count: number }[]>,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        const rows = await read();
        this.reset();
        for (const value of values) {
          this.set({ [label]: value }, rows.find((row) => row.value === value)?.count ?? 0);
        }
      },
    });
  }
}
