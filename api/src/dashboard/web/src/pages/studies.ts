import { api } from '../api';
import { bestTrial, objectiveOf } from '../analysis';
import { fill, formatNumber, h, statusBadge, timeAgo } from '../dom';
import type { Page } from '../page';
import { SortableTable } from '../table';
import { STOP_REASON_LABELS } from '../../../../studies/study-status';
import type { StudySummary, Trial } from '../types';

interface StudyRow {
  study: StudySummary;
  best: Trial | null;
}

/** The API's best trial, or the dashboard's own pick on a server without /best. */
export async function fetchBest(
  study: Pick<StudySummary, 'id' | 'evaluationCount' | 'outputs'>,
  trials?: Trial[],
): Promise<Trial | null> {
  if (study.evaluationCount === 0) return null;
  const best = await api.best(study.id);
  if (best !== null) return best;
  return bestTrial(study, trials ?? (await api.trials(study.id, 'completed')));
}

function bestCell({ study, best }: StudyRow): Node | string {
  if (best === null) return '—';
  const objective = objectiveOf(study);
  return h(
    'span',
    { class: 'best', title: `trial #${best.number}, ${objective.goal}` },
    formatNumber(best.outputs?.[objective.name]),
    h('span', { class: 'muted' }, ` #${best.number}`),
  );
}

/**
 * Why the study ended, in words (red when it failed: e.g. every X0 point failed), and a warning
 * when most of its evaluations failed.
 */
export function studyOutcome(
  study: Pick<
    StudySummary,
    'status' | 'stopReason' | 'evaluationsMostlyFailed' | 'failedEvaluationCount' | 'evaluationCount'
  >,
): HTMLElement[] {
  const parts: HTMLElement[] = [];
  if (study.stopReason !== null) {
    parts.push(
      h(
        'span',
        {
          class: study.status === 'failed' ? 'stop-reason error' : 'stop-reason muted',
          'data-stop-reason': study.stopReason,
          title: study.stopReason,
        },
        ` ${STOP_REASON_LABELS[study.stopReason]}`,
      ),
    );
  }
  if (study.evaluationsMostlyFailed) {
    parts.push(
      h(
        'span',
        { class: 'warning', 'data-warning': 'evaluations-mostly-failed' },
        ` ⚠ ${study.failedEvaluationCount} of ${study.evaluationCount} evaluations failed`,
      ),
    );
  }
  return parts;
}

export function progressBar(done: number, budget: number): HTMLElement {
  const share = budget > 0 ? Math.min(1, done / budget) : 0;
  return h(
    'span',
    { class: 'progress', title: `${done} of ${budget} evaluations`, 'data-done': done, 'data-budget': budget },
    h(
      'span',
      { class: 'progress-bar' },
      h('span', { class: 'progress-fill', style: `width: ${(share * 100).toFixed(1)}%` }),
    ),
    h('span', { class: 'progress-text' }, `${done} / ${budget}`),
  );
}

export function studiesPage(): Page {
  const total = h('span', { class: 'muted' });
  const empty = h(
    'p',
    { class: 'muted', hidden: true },
    'No studies yet: create one with POST /v1/studies (see /docs).',
  );
  const table = new SortableTable<StudyRow>(
    [
      {
        label: 'Study',
        value: (row) => row.study.name,
        render: (row) => h('a', { href: `#/studies/${row.study.id}` }, row.study.name),
      },
      {
        label: 'Status',
        value: (row) => row.study.status,
        render: (row) => h('span', {}, statusBadge(row.study.status), ...studyOutcome(row.study)),
      },
      {
        label: 'Progress',
        value: (row) => row.study.evaluationCount / Math.max(1, row.study.budget.maxEvaluations),
        render: (row) => progressBar(row.study.evaluationCount, row.study.budget.maxEvaluations),
      },
      { label: 'Running', numeric: true, value: (row) => row.study.trialCounts.running },
      { label: 'Failed', numeric: true, value: (row) => row.study.trialCounts.failed },
      {
        label: 'Best value',
        numeric: true,
        value: (row) => row.best?.outputs?.[objectiveOf(row.study).name] ?? null,
        render: bestCell,
      },
      { label: 'Objective', value: (row) => `${objectiveOf(row.study).name} (${objectiveOf(row.study).goal})` },
      { label: 'Last activity', value: (row) => row.study.updatedAt, render: (row) => timeAgo(row.study.updatedAt) },
    ],
    (row) => ({ 'data-study-id': row.study.id }),
    { index: 7, ascending: false },
  );
  const element = h(
    'section',
    { 'data-page': 'studies' },
    h('header', { class: 'page-header' }, h('h1', {}, 'Studies'), total),
    h('div', { class: 'card' }, table.element, empty),
  );
  return {
    element,
    async refresh() {
      const page = await api.studies();
      const rows = await Promise.all(page.items.map(async (study) => ({ study, best: await fetchBest(study) })));
      table.update(rows);
      fill(
        total,
        page.total > page.items.length ? `${page.items.length} most recent of ${page.total}` : `${page.total} in all`,
      );
      empty.hidden = rows.length > 0;
    },
    dispose() {},
  };
}
