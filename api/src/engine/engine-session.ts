import type { EvaluationResult, StopReason, Suggestion } from '../optimizer-contract/algorithm';
import type { StudyAlgorithm } from '../algorithms/algorithm-registry';
import type { EngineOperation } from './engine-operation';

/**
 * A study's engine opened with the study row locked: every call that changes it goes through
 * here and is recorded, so that EngineStore can save the calls as engine events in the same
 * transaction. Read-only properties may be read from `algorithm`; never call its mutators.
 */
export class EngineSession {
  readonly operations: EngineOperation[] = [];

  constructor(
    readonly studyId: string,
    readonly algorithm: StudyAlgorithm,
    /** The engine version the session started from (the study's engine_version when opened). */
    readonly baseVersion: number,
  ) {}

  get version(): number {
    return this.baseVersion + this.operations.length;
  }

  get stopReason(): StopReason | null {
    return this.algorithm.stopReason;
  }

  ask(k: number): Suggestion[] {
    const suggestions = this.algorithm.ask(k);
    this.operations.push({ op: 'ask', k });
    return suggestions;
  }

  tell(results: EvaluationResult[]): void {
    if (results.length === 0) return;
    this.algorithm.tell(results);
    this.operations.push({ op: 'tell', results });
  }

  markInFlight(points: number[][]): void {
    if (points.length === 0) return;
    this.algorithm.markInFlight(points);
    this.operations.push({ op: 'markInFlight', points });
  }
}
