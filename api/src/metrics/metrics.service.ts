import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { countOpen as countOpenTrials } from '../trials/store/trial-store';

/** Prometheus metrics of one API process (scraped at GET /metrics). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly leases = new Counter({
    name: 'meshtune_leases_total',
    help: 'Lease requests, by result (leased = a trial was handed out, empty = 204).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly finishedTrials = new Counter({
    name: 'meshtune_trials_completed_total',
    help: 'Trials that ended as an evaluation, by status (completed or failed).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly leaseExpiries = new Counter({
    name: 'meshtune_lease_expiries_total',
    help: 'Leases that expired without a result (trial requeued or failed).',
    registers: [this.registry],
  });

  readonly runnerFailures = new Counter({
    name: 'meshtune_runner_failures_total',
    help: 'Trials failed with kind "runner" (the machine, not the point): requeued, not counted as evaluations.',
    registers: [this.registry],
  });

  readonly runnerQuarantines = new Counter({
    name: 'meshtune_runner_quarantines_total',
    help: 'Runners quarantined after too many runner failures in a row.',
    registers: [this.registry],
  });

  readonly engineRebuilds = new Counter({
    name: 'meshtune_engine_rebuilds_total',
    help: 'Study engines rebuilt from their snapshot (first use in this process, or the cached one was behind the pruned events).',
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
    new Gauge({
      name: 'meshtune_open_trials',
      help: 'Trials pending or running, over all studies (read from the database at scrape time).',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await countOpenTrials(dataSource);
        this.reset();
        for (const status of ['pending', 'running']) {
          this.set({ status }, rows.find((row) => row.status === status)?.count ?? 0);
        }
      },
    });
    new Gauge({
      name: 'meshtune_runners',
      help: 'Registered runners by health: healthy, unhealthy (a recent runner failure), quarantined (no leases until cleared).',
      labelNames: ['health'] as const,
      registers: [this.registry],
      async collect() {
        const rows: { health: string; count: number }[] = await dataSource.query(
          `SELECT health, COUNT(*)::int AS count FROM runners GROUP BY health`,
        );
        this.reset();
        for (const health of ['healthy', 'unhealthy', 'quarantined']) {
          this.set({ health }, rows.find((row) => row.health === health)?.count ?? 0);
        }
      },
    });
  }
}
