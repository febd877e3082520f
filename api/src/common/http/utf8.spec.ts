import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { firstInvalidUtf8 } from './json-body-parser';

/** A byte array biased toward UTF-8's lead and continuation bytes, so both answers come up often. */
const bytes = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.integer({ min: 0xc0, max: 0xff }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }).map((text) => [...Buffer.from(text)]),
    ),
    { maxLength: 24 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

describe('firstInvalidUtf8 (finding 65: the byte a 400 names)', () => {
  it('finds a byte exactly when Node does not read the bytes as UTF-8, and the text before it is UTF-8', () => {
    fc.assert(
      fc.property(bytes, (sample) => {
        const at = firstInvalidUtf8(sample);
        assert.equal(at === -1, isUtf8(sample));
        if (at >= 0) {
          assert.ok(at < sample.length);
          assert.ok(isUtf8(sample.subarray(0, at)), 'the bytes before it are UTF-8');
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('names the lead byte of a malformed sequence', () => {
    const cases: [number[], number][] = [
      [[0x61, 0xc0, 0xaf], 1],
      [[0x61, 0x62, 0xed, 0xa0, 0x80], 2],
      [[0xf4, 0x90, 0x80, 0x80], 0],
      [[0x61, 0xe2, 0x82], 1],
      [[0xe2, 0x82, 0xac, 0xff], 3],
      [[0xf0, 0x9f, 0xa6, 0x9c], -1],
    ];
    for (const [sample, at] of cases) assert.equal(firstInvalidUtf8(Uint8Array.from(sample)), at, String(sample));
  });
});
