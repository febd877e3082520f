import type { EvaluationResult } from '../optimizer-contract/algorithm';
import type { StudyAlgorithm } from '../algorithms/algorithm-registry';

/**
 * One call that changed a study's engine. The engines are deterministic (same seed and same
 * calls ⇒ same state), so a snapshot plus the operations after it is the state; replaying them
 * is how a process that did not make them catches up.
 */
export type EngineOperation =
  { op: 'ask'; k: number } | { op: 'tell'; results: EvaluationResult[] } | { op: 'markInFlight'; points: number[][] };

/** JSON has no NaN or ±Infinity (a failed NOMAD cache entry has them): stored as strings. */
const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

export function encodeOperation(operation: EngineOperation): unknown {
  if (operation.op !== 'tell') return operation;
  return {
    op: 'tell',
    results: operation.results.map((result) => ({
      x: result.x,
      outputs: result.outputs?.map((value) => (Number.isFinite(value) ? value : String(value))) ?? null,
      // Stored only when set, so the events of every other tell keep their shape.
      ...(result.resumed === true ? { resumed: true } : {}),
      ...(result.censoredBelow !== undefined ? { censoredBelow: result.censoredBelow } : {}),
    })),
  };
}

export function decodeOperation(stored: unknown): EngineOperation {
  const operation = stored as EngineOperation;
  if (operation.op !== 'tell') return operation;
  return {
    op: 'tell',
    results: operation.results.map((result) => ({
      x: result.x,
      outputs:
        result.outputs?.map((value) => (typeof value === 'string' ? (NON_FINITE[value] ?? Number.NaN) : value)) ?? null,
      ...(result.resumed === true ? { resumed: true } : {}),
      ...(typeof result.censoredBelow === 'number' ? { censoredBelow: result.censoredBelow } : {}),
    })),
  };
}

export function applyOperation(algorithm: StudyAlgorithm, operation: EngineOperation): void {
  switch (operation.op) {
    case 'ask':
      algorithm.ask(operation.k);
      return;
    case 'tell':
      algorithm.tell(operation.results);
      return;
    case 'markInFlight':
      algorithm.markInFlight(operation.points);
      return;
  }
}
