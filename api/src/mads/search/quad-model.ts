import type { Candidate, EngineState } from '../state';

export function modelOrder(_state: EngineState, _cands: Candidate[]): Candidate[] | null {
  return null;
}

export function quadSecondPassDirection(_state: EngineState, _centreId: number, _firstPass: number[][]): number[] | null {
  return null;
}

export function quadSearchCandidates(_state: EngineState): Candidate[] {
  return [];
}
