/**
 * How often the early-stopping decision on thinned curves (TrialEarlyStopping, since 2026-12-04)
 * agrees with the decision on the raw curves, and whether either stops a trial that would have
 * beaten the threshold (`node dist/test/reliability/decision-thinning-agreement.js <seed> [cap]`,
 * not in CI; docs/reliability.md, finding 8). Per seed: 20 completed curves and 60 running trials
 * of 1,000 points (power laws and exponential decays with noise, finals around the incumbent),
 * each decided at 15, 30, 50 and 80 % progress with the default curve policy.
 */
import {
  createCalibrationCache,
  decideEarlyStop,
  DEFAULT_CURVE_POLICY,
  type CompletedCurve,
  type CurvePoint,
  type StopQuestion,
} from '../../api/src/early-stopping';
import { MAX_FITTED_CURVE_POINTS, thinCurve } from '../../api/src/trials/trial-early-stopping';

const seed = Number(process.argv[2] ?? 1);
const cap = Number(process.argv[3] ?? MAX_FITTED_CURVE_POINTS);
const STEPS = 1000;
const TRIALS = 60;

let state = seed * 7919;
const uniform = (): number => (state = (state * 16807) % 2147483647) / 2147483647;
const gauss = (): number => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());

function learningCurve(final: number): CurvePoint[] {
  const powerLaw = uniform() < 0.5;
  const amplitude = 1 + 3 * uniform();
  return Array.from({ length: STEPS }, (_, i) => {
    const p = (i + 1) / STEPS;
    const shape = powerLaw
      ? (p ** -0.5 - 1) / ((1 / STEPS) ** -0.5 - 1)
      : (Math.exp(-4 * p) - Math.exp(-4)) / (Math.exp(-4 / STEPS) - Math.exp(-4));
    return { step: i + 1, value: final + amplitude * shape + 0.02 * gauss() };
  });
}

const curves = Array.from({ length: 20 }, () => learningCurve(1 + uniform()));
const raw: CompletedCurve[] = curves.map((points) => ({
  points,
  totalSteps: STEPS,
  finalValue: points[STEPS - 1].value,
}));
const thinned: CompletedCurve[] = raw.map((curve) => ({ ...curve, points: thinCurve(curve.points, cap) }));
const threshold = Math.min(...raw.map((curve) => curve.finalValue));
const rawCache = createCalibrationCache();
const thinCache = createCalibrationCache();
const question = (curve: CurvePoint[], completed: CompletedCurve[]): StopQuestion => ({
  curve,
  totalSteps: STEPS,
  threshold,
  protectedTrial: false,
  completed,
  stopped: [],
});

let agree = 0;
let total = 0;
const stops = { raw: 0, thinned: 0 };
const wrongStops = { raw: 0, thinned: 0 };
for (let trial = 0; trial < TRIALS; trial++) {
  const final = threshold - 0.3 + 1.2 * uniform();
  const curve = learningCurve(final);
  for (const fraction of [0.15, 0.3, 0.5, 0.8]) {
    const cut = curve.slice(0, Math.floor(STEPS * fraction));
    const onRaw = decideEarlyStop(question(cut, raw), DEFAULT_CURVE_POLICY, rawCache).stop;
    const onThinned = decideEarlyStop(question(thinCurve(cut, cap), thinned), DEFAULT_CURVE_POLICY, thinCache).stop;
    total += 1;
    if (onRaw === onThinned) agree += 1;
    if (onRaw) stops.raw += 1;
    if (onThinned) stops.thinned += 1;
    // Wrong: the trial would have ended below the threshold.
    if (onRaw && curve[STEPS - 1].value < threshold) wrongStops.raw += 1;
    if (onThinned && curve[STEPS - 1].value < threshold) wrongStops.thinned += 1;
  }
}
console.log(
  `seed ${seed}, cap ${cap}: ${agree}/${total} decisions agree; stops raw ${stops.raw}, thinned ${stops.thinned}; ` +
    `wrong stops raw ${wrongStops.raw}, thinned ${wrongStops.thinned}`,
);
