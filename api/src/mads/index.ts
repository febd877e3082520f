/** Public API of the MADS engine (NOMAD 4 default MADS, ask/tell). */
export { Mads, type IncumbentView } from './mads';
export type { MadsStateJson } from './serialization';
export {
  DEFAULT_MADS_OPTIONS,
  DIRECTION_TYPES,
  MADS_PRESETS,
  NOMAD4_PRESET,
  type MadsOptions,
  type MadsPreset,
  type DirectionType,
  type EvalQueueSort,
} from './options';
export type { FrameRounding } from './mesh';
export { NomadRng } from '../math/rng';
