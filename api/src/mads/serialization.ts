/**
 * JSON state of the engine (the fields of state.ts). Non-finite numbers are encoded as strings.
 * Records are stored compactly; f, h and the cache index are recomputed on restore.
 */
import { InvalidStateError } from '../optimizer-contract/algorithm-errors';
import { barrierFromJson, barrierToJson, type BarrierJson } from './barrier';
import { EvaluationCache } from './cache';
import { decodeNumber, encodeNumber, type EncodedNumber } from '../math/numerics';
import { DEFAULT_MADS_OPTIONS, NOMAD4_PRESET, type MadsOptions } from './options';
import { NomadRng } from '../math/rng';
import { createSpace } from './space';
import type { EngineState, Flight, RestartState } from './state';

export const STATE_FORMAT = 'meshtune.mads';
export const STATE_VERSION = 1;

type OptionsJson = Omit<MadsOptions, 'hMax0'> & { hMax0: EncodedNumber };

/** Fields written as the engine holds them (plain data, cloned), typed once in state.ts. */
type PlainFields =
  | 'problem'
  | 'mesh'
  | 'phaseOne'
  | 'iteration'
  | 'step'
  | 'stepCounter'
  | 'nextKind'
  | 'lateIds'
  | 'lastDirFeas'
  | 'lastDirInf'
  | 'nm'
  | 'pendingSecondPass'
  | 'extra'
  | 'extraBases'
  | 'evaluations'
  | 'inFlight'
  | 'stop'
  | 'emptyIterations'
  | 'iterationProducedPoints';

export interface MadsStateJson extends Pick<EngineState, PlainFields> {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  options: OptionsJson;
  rng: number[];
  records: unknown;
  barrier: BarrierJson;
  /** Absent in states written before the surrogate search (read as 0). */
  surrogateIdle?: number;
  /** Absent in states written before model-ranked idle filling (read as 0). */
  modelIdle?: number;
  /** Written only once set (`nmModelFactor`), so states of runs without it keep their text. */
  nmSlotModelIteration?: number;
  /** Absent in states written before the meshtune preset (read as none). */
  flights?: Flight[];
  restart?: RestartState;
}

const clone = <T>(v: T): T => structuredClone(v);

export function stateToJson(s: EngineState): MadsStateJson {
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    problem: clone(s.problem),
    options: { ...clone(s.options), hMax0: encodeNumber(s.options.hMax0) },
    rng: s.rng.state(),
    mesh: clone(s.mesh),
    records: s.cache.toJSON(),
    barrier: barrierToJson(s.barrier),
    phaseOne: s.phaseOne,
    iteration: s.iteration,
    step: clone(s.step),
    stepCounter: s.stepCounter,
    nextKind: s.nextKind,
    lateIds: [...s.lateIds],
    lastDirFeas: s.lastDirFeas === null ? null : [...s.lastDirFeas],
    lastDirInf: s.lastDirInf === null ? null : [...s.lastDirInf],
    nm: clone(s.nm),
    pendingSecondPass: clone(s.pendingSecondPass),
    extra: clone(s.extra),
    extraBases: s.extraBases,
    surrogateIdle: s.surrogateIdle ?? 0,
    modelIdle: s.modelIdle ?? 0,
    ...(s.nmSlotModelIteration === undefined ? {} : { nmSlotModelIteration: s.nmSlotModelIteration }),
    evaluations: s.evaluations,
    inFlight: s.inFlight,
    stop: clone(s.stop),
    emptyIterations: s.emptyIterations,
    iterationProducedPoints: s.iterationProducedPoints,
    flights: clone(s.flights),
    restart: { ...s.restart },
  };
}

export function stateFromJson(data: unknown): EngineState {
  if (data === null || typeof data !== 'object') throw new InvalidStateError('state', 'must be an object');
  const j = data as MadsStateJson;
  if (j.format !== STATE_FORMAT) throw new InvalidStateError('state.format', `expected '${STATE_FORMAT}'`);
  if (j.version !== STATE_VERSION)
    throw new InvalidStateError('state.version', `unsupported version ${String(j.version)}`);
  try {
    const problem = clone(j.problem);
    return {
      problem,
      // States written before presets existed ran NOMAD 4's behaviour: keep it. The defaults come
      // first only for their key order, so that toJSON after a restore is the same text.
      options: {
        ...DEFAULT_MADS_OPTIONS,
        ...NOMAD4_PRESET,
        ...clone(j.options),
        hMax0: decodeNumber(j.options.hMax0),
      },
      space: createSpace(problem),
      rng: NomadRng.fromState(j.rng),
      mesh: clone(j.mesh),
      cache: EvaluationCache.fromJSON(problem.outputTypes, j.records),
      barrier: barrierFromJson(j.barrier),
      phaseOne: j.phaseOne,
      iteration: j.iteration,
      step: clone(j.step),
      stepCounter: j.stepCounter,
      nextKind: j.nextKind,
      lateIds: [...j.lateIds],
      lastDirFeas: j.lastDirFeas === null ? null : [...j.lastDirFeas],
      lastDirInf: j.lastDirInf === null ? null : [...j.lastDirInf],
      nm: clone(j.nm),
      pendingSecondPass: clone(j.pendingSecondPass),
      extra: clone(j.extra),
      extraBases: j.extraBases,
      surrogateIdle: j.surrogateIdle ?? 0,
      modelIdle: j.modelIdle ?? 0,
      ...(j.nmSlotModelIteration === undefined ? {} : { nmSlotModelIteration: j.nmSlotModelIteration }),
      evaluations: j.evaluations,
      inFlight: j.inFlight,
      stop: clone(j.stop),
      emptyIterations: j.emptyIterations,
      iterationProducedPoints: j.iterationProducedPoints,
      flights: clone(j.flights ?? []),
      restart: j.restart === undefined ? { count: 0, cacheSize: 0, fruitless: 0 } : { ...j.restart },
    };
  } catch (e) {
    throw new InvalidStateError('state', `cannot be restored: ${e instanceof Error ? e.message : String(e)}`);
  }
}
