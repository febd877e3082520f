import { RUNNER_LIVE_WITHIN_MS } from '../../../../runners/runner-liveness';
import { api } from '../api';
import { fill, h, timeAgo } from '../dom';
import type { Page } from '../page';
import { SortableTable } from '../table';
import type { Runner, Study, Trial } from '../types';

/** A runner counts as online when it was heard from this recently (the API's definition of a live runner). */
export const ONLINE_WITHIN_MS = RUNNER_LIVE_WITHIN_MS;

interface RunnerRow {
  runner: Runner;
  online: boolean;
  trials: { trial: Trial; studyName: string }[];
}

function gpus(runner: Runner): string {
  if (runner.gpus === 0) return 'none';
  return runner.gpuMemoryMb === null
    ? `${runner.gpus}`
    : `${runner.gpus} × ${(runner.gpuMemoryMb / 1024).toFixed(0)} GiB`;
}

/**
 * Healthy, unhealthy (a recent runner failure: its machine could not run a trial) or quarantined
 * (no leases until an operator clears it: POST /v1/runners/{id}/clear-quarantine), with why.
 */
function healthCell(runner: Runner): HTMLElement {
  const why =
    runner.health === 'quarantined'
      ? (runner.quarantineReason ?? '')
      : runner.health === 'unhealthy'
        ? `${runner.failureStreak} runner failure(s) in a row; last: ${runner.lastFailure ?? ''}`
        : '';
  return h(
    'span',
    { 'data-health': runner.health },
    h('span', { class: `badge badge-${runner.health}`, title: why }, runner.health),
    why === ''
      ? ''
      : h('div', { class: runner.health === 'quarantined' ? 'error' : 'muted', 'data-health-reason': '' }, why),
  );
}

export function runnersPage(): Page {
  const summary = h('span', { class: 'muted' });
  const empty = h(
    'p',
    { class: 'muted', hidden: true },
    'No runner has registered yet: start one with `meshtune-runner` (see python-runner/README.md).',
  );
  const studyNames = new Map<string, string>();
  const table = new SortableTable<RunnerRow>(
    [
      { label: 'Runner', value: (row) => row.runner.name },
      {
        label: 'State',
        value: (row) => (row.online ? 'online' : 'offline'),
        render: (row) =>
          h('span', { class: `badge badge-${row.online ? 'online' : 'offline'}` }, row.online ? 'online' : 'offline'),
      },
      {
        label: 'Health',
        value: (row) => row.runner.health,
        render: (row) => healthCell(row.runner),
      },
      {
        label: 'Running',
        value: (row) => row.trials.length,
        render: (row) =>
          row.trials.length === 0
            ? h('span', { class: 'muted' }, 'idle')
            : h(
                'span',
                {},
                ...row.trials.map(({ trial, studyName }) =>
                  h('a', { class: 'trial-link', href: `#/studies/${trial.studyId}` }, `${studyName} #${trial.number}`),
                ),
              ),
      },
      {
        label: 'Last heartbeat',
        value: (row) => row.runner.lastSeenAt,
        render: (row) => timeAgo(row.runner.lastSeenAt),
      },
      { label: 'GPUs', value: (row) => row.runner.gpus, render: (row) => gpus(row.runner) },
      { label: 'Labels', value: (row) => row.runner.labels.join(', ') },
      { label: 'Registered', value: (row) => row.runner.createdAt, render: (row) => timeAgo(row.runner.createdAt) },
    ],
    (row) => ({ 'data-runner-id': row.runner.id, 'data-online': String(row.online), 'data-health': row.runner.health }),
    { index: 4, ascending: false },
  );
  const element = h(
    'section',
    { 'data-page': 'runners' },
    h('header', { class: 'page-header' }, h('h1', {}, 'Runners'), summary),
    h('div', { class: 'card' }, table.element, empty),
  );

  async function studyName(studyId: string): Promise<string> {
    let name = studyNames.get(studyId);
    if (name === undefined) {
      const study: Study = await api.study(studyId);
      name = study.name;
      studyNames.set(studyId, name);
    }
    return name;
  }

  return {
    element,
    async refresh() {
      const { items } = await api.runners();
      const now = Date.now();
      const rows = await Promise.all(
        items.map(async (runner): Promise<RunnerRow> => ({
          runner,
          online: now - Date.parse(runner.lastSeenAt) < ONLINE_WITHIN_MS,
          trials: await Promise.all(
            runner.currentTrialIds.map(async (id) => {
              const trial = await api.trial(id);
              return { trial, studyName: await studyName(trial.studyId) };
            }),
          ),
        })),
      );
      table.update(rows);
      const online = rows.filter((row) => row.online).length;
      const quarantined = rows.filter((row) => row.runner.health === 'quarantined').length;
      fill(summary, `${online} online of ${rows.length}${quarantined > 0 ? `, ${quarantined} quarantined` : ''}`);
      empty.hidden = rows.length > 0;
    },
    dispose() {},
  };
}
