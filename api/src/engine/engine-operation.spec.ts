import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOperation, encodeOperation } from './engine-operation';

test('a stored tell keeps the resumed flag (replay tells a resumed value again as one), and only where set', () => {
  const operation = {
    op: 'tell' as const,
    results: [
      { x: [1, 2], outputs: [0.5, Number.NaN], resumed: true },
      { x: [3, 4], outputs: null },
    ],
  };
  const stored = JSON.parse(JSON.stringify(encodeOperation(operation))) as {
    results: Record<string, unknown>[];
  };
  assert.equal(stored.results[0].resumed, true);
  assert.equal('resumed' in stored.results[1], false);
  const decoded = decodeOperation(stored);
  assert.deepEqual(decoded, operation);
});

test("a stored tell keeps a stop's censoredBelow (replay gives the models the same bound), and only where set", () => {
  const operation = {
    op: 'tell' as const,
    results: [
      { x: [1, 2], outputs: null, censoredBelow: 1.25 },
      { x: [3, 4], outputs: null, resumed: true, censoredBelow: -0.5 },
      { x: [5, 6], outputs: null },
    ],
  };
  const stored = JSON.parse(JSON.stringify(encodeOperation(operation))) as {
    results: Record<string, unknown>[];
  };
  assert.equal(stored.results[0].censoredBelow, 1.25);
  assert.equal('censoredBelow' in stored.results[2], false);
  assert.deepEqual(decodeOperation(stored), operation);
});
