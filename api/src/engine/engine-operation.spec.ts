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
