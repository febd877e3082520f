import type { EngineState, Step } from '../state';

export interface NmState {
  simplex: number[];
  fullSuccess: boolean;
}

export function nmStartSearch(_state: EngineState): Step | null {
  return null;
}

export function nmFinishStep(_state: EngineState, _step: Step): Step | null {
  return null;
}
