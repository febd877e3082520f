import { api, describeError } from '../api';
import { bestFraction, defaultMetric, durationMs, evaluations, objectiveOf, x0Value } from '../analysis';
import { Chart, convergenceOption, curvesOption, parallelOption } from '../charts';
import { fill, formatDuration, formatNumber, h, statusBadge, timeAgo } from '../dom';
import type { Page } from '../page';
import { type Column, SortableTable } from '../table';
import type { EngineState, Runner, Study, Trial, TrialMetric } from '../types';
import { fetchBest, progressBar, studyOutcome } from './studies';

const FRACTIONS = [1, 0.5, 0.25, 0.1];

function section(title: string, ...children: (Node | string)[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** The regime hash of the configuration a trial was trained with (runner-reported), or null. */
function regimeHash(trial: Trial): string | null {
  const hash = trial.effectiveConfig?.regimeHash;
  return typeof hash === 'string' ? hash : null;
}

/** A hash shortened for a table cell (the whole value in its tooltip). */
function shortHash(hash: string): string {
  const bare = hash.replace(/^sha256:/, '');
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}

/** Where the trial's adapter lies, its last path segment shown (the whole location in the tooltip). */
function adapterCell(trial: Trial): Node | string {
  const location = trial.adapter?.location;
  if (location === undefined) return '';
  const tail = location.replace(/\/+$/, '').split('/').pop() ?? location;
  return h('span', { class: 'muted', title: location, 'data-adapter': location }, tail);
}

/** What a runner needs to lease the study's trials (docs/architecture.md, "Runner capacity"), or `any`. */
function runnerRequirements(study: Study): string {
  const needs = [
    study.requiredRunnerGpus === null ? null : `≥ ${study.requiredRunnerGpus} GPUs`,
    study.requiredRunnerGpuMemoryMb === null
      ? null
      : `≥ ${(study.requiredRunnerGpuMemoryMb / 1024).toFixed(0)} GiB per GPU`,
    study.requiredRunnerLabels.length === 0 ? null : `labels ${study.requiredRunnerLabels.join(', ')}`,
  ].filter((need) => need !== null);
  return needs.length === 0 ? 'any' : needs.join('; ');
}

function definitionList(entries: [string, Node | string][]): HTMLElement {
  return h('dl', {}, ...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

async function download(
  studyId: string,
  studyName: string,
  format: 'csv' | 'nomad',
  status: HTMLElement,
): Promise<void> {
  try {
    const blob = await api.history(studyId, format);
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: `${studyName}-history.${format === 'csv' ? 'csv' : 'txt'}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    fill(status, '');
  } catch (error) {
    fill(status, `Download failed: ${describeError(error)}`);
  }
}

function engineView(study: Study, engine: EngineState | null): Node {
  if (engine === null) return h('p', { class: 'muted' }, 'The engine state is not available from this server.');
  const perParameter = (sizes: number[] | null): Node | string => {
    if (sizes === null) return '—';
    const names = study.parameters.map((parameter) => parameter.name);
    return h(
      'span',
      { class: 'sizes' },
      ...sizes.map((size, index) =>
        h('span', { class: 'size' }, h('span', { class: 'muted' }, `${names[index] ?? index} `), formatNumber(size)),
      ),
    );
  };
  return definitionList([
    ['Algorithm', `${engine.algorithm}, iteration ${engine.iteration}`],
    ['Frame size', h('span', { id: 'frame-size' }, perParameter(engine.frameSize))],
    ['Mesh size', perParameter(engine.meshSize)],
    ['Stop reason', h('span', { id: 'engine-stop-reason' }, engine.stopReason ?? study.stopReason ?? 'none (running)')],
  ]);
}

/** Loads the intermediate metrics: finished trials once, running ones on every refresh. */
class MetricsCache {
  private readonly finished = new Map<string, TrialMetric[]>();

  async load(trials: Trial[]): Promise<Map<string, TrialMetric[]>> {
    const wanted = trials.filter(
      (trial) => trial.status !== 'pending' && (trial.status === 'running' || !this.finished.has(trial.id)),
    );
    const loaded = new Map<string, TrialMetric[]>();
    for (let start = 0; start < wanted.length; start += 6) {
      const batch = await Promise.all(wanted.slice(start, start + 6).map((trial) => api.trial(trial.id)));
      for (const trial of batch) {
        loaded.set(trial.id, trial.metrics ?? []);
        if (trial.status !== 'running') this.finished.set(trial.id, trial.metrics ?? []);
      }
    }
    const all = new Map<string, TrialMetric[]>();
    for (const trial of trials) {
      const metrics = loaded.get(trial.id) ?? this.finished.get(trial.id);
      if (metrics !== undefined && metrics.length > 0) all.set(trial.id, metrics);
    }
    return all;
  }
}

export function studyPage(studyId: string): Page {
  const title = h('h1', {}, 'Study');
  const statusLine = h('div', { class: 'status-line' });
  const description = h('p', { class: 'muted' });
  const summary = h('div', { class: 'summary' });
  const engineBox = h('div', { id: 'engine' });
  const downloadStatus = h('p', { class: 'error', role: 'status' });
  const convergenceBox = h('div', { class: 'chart', id: 'convergence-chart' });
  const parallelBox = h('div', { class: 'chart chart-tall', id: 'parallel-chart' });
  const curvesBox = h('div', { class: 'chart', id: 'metrics-chart' });
  const curvesEmpty = h('p', { class: 'muted', hidden: true }, 'No trial has reported intermediate metrics yet.');
  const fraction = h(
    'select',
    { id: 'best-fraction', 'aria-label': 'Trials shown' },
    ...FRACTIONS.map((value) => h('option', { value }, value === 1 ? 'all trials' : `best ${value * 100} %`)),
  );
  const metricSelect = h('select', { id: 'metric-name', 'aria-label': 'Metric' });
  const trialCount = h('span', { class: 'muted' });
  const tableBox = h('div', { class: 'table-scroll' });

  const convergence = new Chart(convergenceBox);
  const parallel = new Chart(parallelBox);
  const curves = new Chart(curvesBox);
  const metrics = new MetricsCache();
  let table: SortableTable<Trial> | null = null;
  let state: { study: Study; trials: Trial[]; metricsByTrial: Map<string, TrialMetric[]> } | null = null;
  let runnerNames = new Map<string, string>();

  const downloadButton = (format: 'csv' | 'nomad', label: string): HTMLElement =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        id: `download-${format}`,
        onclick: () => state !== null && void download(studyId, state.study.name, format, downloadStatus),
      },
      label,
    );

  const element = h(
    'div',
    { 'data-page': 'study', 'data-study-id': studyId },
    h('header', { class: 'page-header' }, h('a', { href: '#/', class: 'back' }, '← Studies'), title, statusLine),
    description,
    h(
      'div',
      { class: 'grid-2' },
      section('Summary', summary),
      section(
        'Engine',
        engineBox,
        h(
          'div',
          { class: 'downloads' },
          downloadButton('csv', 'Download history (CSV)'),
          downloadButton('nomad', 'Download history (NOMAD)'),
        ),
        downloadStatus,
      ),
    ),
    section(
      'Convergence',
      h(
        'p',
        { class: 'muted' },
        'Best feasible objective so far against evaluation number; every evaluation marked feasible (circle) or infeasible (triangle); dashed: the X0 value.',
      ),
      convergenceBox,
    ),
    section(
      'Parallel coordinates',
      h('div', { class: 'controls' }, h('label', { for: 'best-fraction' }, 'Show '), fraction),
      parallelBox,
    ),
    section(
      'Intermediate metrics',
      h('div', { class: 'controls' }, h('label', { for: 'metric-name' }, 'Metric '), metricSelect),
      curvesBox,
      curvesEmpty,
    ),
    section('Trials', trialCount, tableBox),
  );

  function trialColumns(study: Study): Column<Trial>[] {
    const parameterNames = [
      ...study.parameters.map((parameter) => parameter.name),
      ...study.derived.map((item) => item.name),
    ];
    return [
      { label: '#', numeric: true, value: (trial) => trial.number },
      {
        label: 'Status',
        value: (trial) => trial.status,
        render: (trial) => h('span', { title: trial.error ?? '' }, statusBadge(trial.status)),
      },
      { label: 'Origin', value: (trial) => trial.origin },
      ...parameterNames.map((name): Column<Trial> => ({
        label: name,
        numeric: true,
        value: (trial) => trial.parameters[name] ?? null,
        render: (trial) => formatNumber(trial.parameters[name]),
      })),
      ...study.outputs.map((output): Column<Trial> => ({
        label: output.name,
        numeric: true,
        value: (trial) => trial.outputs?.[output.name] ?? null,
        render: (trial) => formatNumber(trial.outputs?.[output.name]),
      })),
      {
        label: 'Runner',
        value: (trial) =>
          trial.runnerId !== null
            ? (runnerNames.get(trial.runnerId) ?? trial.runnerId.slice(0, 8))
            : trial.minGpuMemoryMb !== null
              ? // Ran out of GPU memory: it waits for a runner with more (docs/architecture.md, "Runner capacity").
                `needs > ${((trial.minGpuMemoryMb - 1) / 1024).toFixed(0)} GiB per GPU`
              : null,
      },
      {
        label: 'Regime',
        value: (trial) => regimeHash(trial),
        render: (trial) => {
          const hash = regimeHash(trial);
          return hash === null
            ? ''
            : h('code', { class: 'muted', title: JSON.stringify(trial.effectiveConfig, null, 1) }, shortHash(hash));
        },
      },
      { label: 'Adapter', value: (trial) => trial.adapter?.location ?? null, render: adapterCell },
      {
        label: 'Duration',
        numeric: true,
        value: (trial) => durationMs(trial, Date.now()),
        render: (trial) => formatDuration(durationMs(trial, Date.now())),
      },
      { label: 'Finished', value: (trial) => trial.finishedAt, render: (trial) => timeAgo(trial.finishedAt) },
    ];
  }

  function drawParallel(): void {
    if (state === null) return;
    const { study, trials } = state;
    const objective = objectiveOf(study);
    const values = evaluations(study, trials).flatMap((point) => (point.value === null ? [] : [point.value]));
    const { option, counts } = parallelOption({
      parameters: study.parameters,
      derived: study.derived.map((item) => item.name),
      objectiveName: objective.name,
      goal: objective.goal,
      points: bestFraction(study, trials, Number(fraction.value)),
      range: values.length === 0 ? null : [Math.min(...values), Math.max(...values)],
    });
    parallel.update(option, counts);
  }

  function drawCurves(): void {
    if (state === null) return;
    const names = [...new Set([...state.metricsByTrial.values()].flat().map((metric) => metric.name))].sort();
    const selected = names.includes(metricSelect.value) ? metricSelect.value : defaultMetric(state.study, names);
    if (names.join('\n') !== [...metricSelect.options].map((option) => option.value).join('\n')) {
      fill(metricSelect, ...names.map((name) => h('option', { value: name }, name)));
    }
    metricSelect.value = selected;
    const byNumber = new Map(state.trials.map((trial) => [trial.id, trial.number]));
    const stoppedEarly = new Set(
      state.trials.filter((trial) => trial.stopReason === 'early_stopped').map((trial) => trial.id),
    );
    const curveData = [...state.metricsByTrial.entries()]
      .map(([trialId, points]) => ({
        trialNumber: byNumber.get(trialId) ?? 0,
        stopped: stoppedEarly.has(trialId),
        points: points.filter((point) => point.name === selected).sort((a, b) => a.step - b.step),
      }))
      .filter((curve) => curve.points.length > 0)
      .sort((a, b) => a.trialNumber - b.trialNumber);
    const { option, counts } = curvesOption({ metric: selected, curves: curveData });
    curves.update(option, counts);
    curvesEmpty.hidden = curveData.length > 0;
  }

  fraction.addEventListener('change', drawParallel);
  metricSelect.addEventListener('change', drawCurves);

  return {
    element,
    async refresh() {
      const [study, trials, engine, runners] = await Promise.all([
        api.study(studyId),
        api.trials(studyId),
        api.engine(studyId),
        api.runners(),
      ]);
      const [best, metricsByTrial] = await Promise.all([fetchBest(study, trials), metrics.load(trials)]);
      runnerNames = new Map(runners.items.map((runner: Runner) => [runner.id, runner.name]));
      state = { study, trials, metricsByTrial };
      const objective = objectiveOf(study);
      const points = evaluations(study, trials);
      const x0 = x0Value(study, trials);

      document.title = `${study.name} · meshtune`;
      fill(title, study.name);
      fill(statusLine, statusBadge(study.status), ...studyOutcome(study));
      fill(description, study.description ?? '');
      fill(
        summary,
        definitionList([
          ['Progress', progressBar(study.evaluationCount, study.budget.maxEvaluations)],
          [
            'Trials',
            `${study.trialCounts.completed} completed, ${study.trialCounts.running} running, ${study.trialCounts.pending} pending, ${study.trialCounts.failed} failed, ${study.trialCounts.stopped} stopped, ${study.trialCounts.paused} paused`,
          ],
          ['Objective', `${objective.name} (${objective.goal})`],
          ['Runners', runnerRequirements(study)],
          [
            'GPU-hours',
            h(
              'span',
              { id: 'gpu-hours' },
              // The GPU-hour budget beside its use, as Progress shows the evaluation budget.
              study.budget.maxGpuHours === null
                ? `${formatNumber(study.gpuHoursUsed)} used`
                : `${formatNumber(study.gpuHoursUsed)} of ${formatNumber(study.budget.maxGpuHours)} budget used`,
              h(
                'span',
                { class: 'muted' },
                `, ${formatNumber(study.gpuHoursSaved)} saved by early stopping (estimate; policy ${study.earlyStopping.kind})`,
              ),
            ),
          ],
          [
            'Best',
            best === null
              ? '—'
              : h(
                  'span',
                  { id: 'best-value' },
                  formatNumber(best.outputs?.[objective.name]),
                  h(
                    'span',
                    { class: 'muted' },
                    ` trial #${best.number}: ${Object.entries(best.parameters)
                      .map(([name, value]) => `${name} ${formatNumber(value)}`)
                      .join(', ')}`,
                  ),
                ),
          ],
          [
            'Best adapter',
            h('span', { id: 'best-adapter', class: 'muted' }, best?.adapter?.location ?? 'none reported'),
          ],
          ['X0 value', formatNumber(x0)],
          ['Algorithm', `${study.algorithm.name}, seed ${study.algorithm.seed}`],
          ['Last activity', timeAgo(study.updatedAt)],
        ]),
      );
      fill(engineBox, engineView(study, engine));

      const { option, counts } = convergenceOption({ objectiveName: objective.name, goal: objective.goal, points, x0 });
      convergence.update(option, counts);
      drawParallel();
      drawCurves();

      if (table === null) {
        table = new SortableTable(
          trialColumns(study),
          (trial) => ({ 'data-trial-number': String(trial.number), 'data-status': trial.status }),
          { index: 0, ascending: false },
        );
        tableBox.append(table.element);
      }
      table.update(trials);
      fill(trialCount, `${trials.length} trials; click a column to sort.`);
    },
    dispose() {
      convergence.dispose();
      parallel.dispose();
      curves.dispose();
    },
  };
}
