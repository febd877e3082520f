import { LineChart, ParallelChart, ScatterChart } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  ParallelComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { bestSoFar, type Evaluation, type Goal } from './analysis';
import { formatNumber } from './dom';
import type { ParameterDefinition, TrialMetric } from './types';

echarts.use([
  LineChart,
  ScatterChart,
  ParallelChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  ParallelComponent,
  TooltipComponent,
  VisualMapComponent,
  DataZoomComponent,
  CanvasRenderer,
]);

/** ECharts renders a custom tooltip formatter's string as HTML. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const COLORS = { best: '#1d4ed8', feasible: '#16a34a', infeasible: '#dc2626', x0: '#6b7280' };
/** Objective colour ramp, best end last (viridis-like, as the seed's matplotlib plot). */
const RAMP = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

/**
 * One ECharts instance on a container, updated in place on every poll (no flicker, zoom kept).
 * Point counts go on the container as data-* attributes, for people inspecting and for the tests.
 */
export class Chart {
  /** Created on the first update, once the container is in the document and has a size. */
  private chart: echarts.ECharts | null = null;
  private readonly onResize = (): void => this.chart?.resize();

  constructor(readonly container: HTMLElement) {
    window.addEventListener('resize', this.onResize);
  }

  update(option: echarts.EChartsCoreOption, counts: Record<string, number>): void {
    this.chart ??= echarts.init(this.container, null, { renderer: 'canvas' });
    this.chart.setOption(option, { notMerge: true });
    for (const [name, value] of Object.entries(counts)) this.container.dataset[name] = String(value);
  }

  dispose(): void {
    window.removeEventListener('resize', this.onResize);
    this.chart?.dispose();
  }
}

export interface ConvergenceInput {
  objectiveName: string;
  goal: Goal;
  points: Evaluation[];
  x0: number | null;
}

/** Best-so-far against evaluation number, every evaluated point marked feasible or not, X0 as a line. */
export function convergenceOption({ objectiveName, goal, points, x0 }: ConvergenceInput): {
  option: echarts.EChartsCoreOption;
  counts: Record<string, number>;
} {
  const scatter = (feasible: boolean): [number, number, number][] =>
    points
      .filter((point) => point.value !== null && point.feasible === feasible)
      .map((point) => [point.evaluation, point.value as number, point.trial.number]);
  const feasible = scatter(true);
  const infeasible = scatter(false);
  const line = bestSoFar(goal, points);
  const failed = points.filter((point) => point.value === null).length;
  return {
    counts: {
      pointCount: feasible.length + infeasible.length,
      feasibleCount: feasible.length,
      infeasibleCount: infeasible.length,
      failedCount: failed,
      bestCount: line.length,
    },
    option: {
      animation: false,
      color: [COLORS.best, COLORS.feasible, COLORS.infeasible],
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      legend: { top: 4, data: ['best so far', 'feasible', 'infeasible'] },
      tooltip: {
        trigger: 'item',
        formatter: (item: { seriesName: string; value: number[] }) =>
          item.seriesName === 'best so far'
            ? `evaluation ${item.value[0]}<br>best so far ${formatNumber(item.value[1])}`
            : `trial #${item.value[2]} (evaluation ${item.value[0]})<br>${escapeHtml(objectiveName)} ${formatNumber(item.value[1])}<br>${item.seriesName}`,
      },
      xAxis: { type: 'value', name: 'evaluation', nameLocation: 'middle', nameGap: 28, minInterval: 1, min: 0 },
      yAxis: { type: 'value', name: `${objectiveName} (${goal})`, scale: true },
      series: [
        {
          name: 'best so far',
          type: 'line',
          step: 'end',
          showSymbol: false,
          data: line,
          lineStyle: { width: 2.5 },
          markLine:
            x0 === null
              ? undefined
              : {
                  symbol: 'none',
                  silent: true,
                  lineStyle: { type: 'dashed', color: COLORS.x0 },
                  label: { formatter: `X0 ${formatNumber(x0)}`, position: 'insideEndTop', color: COLORS.x0 },
                  data: [{ yAxis: x0 }],
                },
        },
        { name: 'feasible', type: 'scatter', symbolSize: 8, data: feasible },
        { name: 'infeasible', type: 'scatter', symbol: 'triangle', symbolSize: 9, data: infeasible },
      ],
    },
  };
}

export interface ParallelInput {
  parameters: ParameterDefinition[];
  derived: string[];
  objectiveName: string;
  goal: Goal;
  /** Already filtered to the best fraction. */
  points: Evaluation[];
  /** Objective range over all the trials, so colours do not shift when the filter changes. */
  range: [number, number] | null;
}

/** Trials as lines across the parameters and the objective, coloured by the objective. */
export function parallelOption({ parameters, derived, objectiveName, goal, points, range }: ParallelInput): {
  option: echarts.EChartsCoreOption;
  counts: Record<string, number>;
} {
  const axes: Record<string, unknown>[] = [
    ...parameters.map((parameter, dim) =>
      parameter.type === 'ordinal' || parameter.type === 'categorical'
        ? { dim, name: parameter.name, type: 'category', data: (parameter.values ?? []).map(String) }
        : { dim, name: parameter.name, type: parameter.log === true ? 'log' : 'value', scale: true },
    ),
    ...derived.map((name, index) => ({ dim: parameters.length + index, name, type: 'value', scale: true })),
  ];
  const objectiveDim = axes.length;
  axes.push({
    dim: objectiveDim,
    name: objectiveName,
    type: 'value',
    scale: true,
    nameTextStyle: { fontWeight: 'bold' },
  });
  const data = points.map((point) => [
    ...parameters.map((parameter) => {
      const value = point.trial.parameters[parameter.name];
      return parameter.type === 'ordinal' || parameter.type === 'categorical' ? String(value) : value;
    }),
    ...derived.map((name) => point.trial.parameters[name]),
    point.value,
  ]);
  const [min, max] = range ?? [0, 1];
  return {
    counts: { pointCount: data.length },
    option: {
      animation: false,
      parallel: {
        left: 48,
        right: 110,
        top: 48,
        bottom: 32,
        parallelAxisDefault: { nameLocation: 'end', nameGap: 16 },
      },
      parallelAxis: axes,
      visualMap: {
        type: 'continuous',
        dimension: objectiveDim,
        min,
        max: max === min ? min + 1 : max,
        // Best trials brightest, whichever the direction.
        inRange: { color: goal === 'minimize' ? [...RAMP].reverse() : RAMP },
        right: 8,
        top: 'middle',
        calculable: true,
        text: [objectiveName, ''],
        formatter: (value: number) => formatNumber(value),
      },
      tooltip: { trigger: 'item' },
      series: [{ type: 'parallel', lineStyle: { width: 2, opacity: 0.75 }, data }],
    },
  };
}

export interface CurvesInput {
  metric: string;
  /** One curve per trial; `stopped`: the trial was stopped early (drawn dashed and grey). */
  curves: { trialNumber: number; points: TrialMetric[]; stopped?: boolean }[];
}

/** The intermediate metric (loss against step) of every trial that reported it. */
export function curvesOption({ metric, curves }: CurvesInput): {
  option: echarts.EChartsCoreOption;
  counts: Record<string, number>;
} {
  const series = curves.map((curve) => ({
    name: curve.stopped === true ? `#${curve.trialNumber} (stopped)` : `#${curve.trialNumber}`,
    type: 'line',
    showSymbol: curve.points.length < 30,
    symbolSize: 4,
    data: curve.points.map((point) => [point.step, point.value]),
    ...(curve.stopped === true
      ? {
          lineStyle: { type: 'dashed', color: '#9aa0a6', width: 1.5 },
          itemStyle: { color: '#9aa0a6' },
        }
      : {}),
  }));
  return {
    counts: {
      seriesCount: series.length,
      pointCount: series.reduce((sum, item) => sum + item.data.length, 0),
      stoppedCount: curves.filter((curve) => curve.stopped === true).length,
    },
    option: {
      animation: false,
      grid: { left: 64, right: 24, top: 40, bottom: 64 },
      legend: { type: 'scroll', bottom: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: metric, scale: true },
      dataZoom: [{ type: 'inside' }],
      series,
    },
  };
}
