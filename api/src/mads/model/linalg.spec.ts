/** The small dense linear algebra of the models and the NM simplex. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { euclideanNorm, rankOf, RowSpan, singularValues } from './linalg';

test('NM simplex rank: exactly dependent rows have rank deficit (singular values, not Gram eigenvalues)', () => {
  // Δ-scaled differences of NOMAD's rosenbrock_box_4 run (seed 0, 4th iteration): NOMAD's log
  // reports rank 2 for these three rows; the square roots of the Gram matrix's eigenvalues put the
  // third singular value near 1e-9, above the 1e-13 tolerance.
  const rows = [
    [0, 0, 0, 0.05],
    [0, -0.1, 0, 0],
    [0, -0.1, 0, -0.2],
  ];
  assert.equal(rankOf(rows, 1e-13), 2);
  assert.equal(rankOf([...rows.slice(0, 2), [-0.5, 0, -0.14, -0.2]], 1e-13), 3);
  const sv = singularValues([
    [3, 0],
    [4, 5],
  ]).sort((a, b) => a - b);
  assert.ok(Math.abs(sv[0] - Math.sqrt(5)) < 1e-12 && Math.abs(sv[1] - Math.sqrt(45)) < 1e-12);
});

test("NM simplex rank: a row whose distance to the others' span is at rounding level never raises the SVD rank, on lattice rows and their combinations", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 18 }),
      fc.array(fc.array(fc.integer({ min: -8, max: 8 }), { minLength: 18, maxLength: 18 }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 12, maxLength: 12 }),
      fc.constantFrom(1, 0.5, 0.125, 1 / 3),
      (n, raw, weights, unit) => {
        const rows = raw.map((r) => r.slice(0, n).map((v) => v * unit));
        const span = new RowSpan();
        const kept: number[][] = [];
        for (const row of rows) {
          const residual = span.residual(row);
          const before = rankOf(kept, 1e-13);
          if (euclideanNorm(residual) <= 1e-13) {
            assert.equal(rankOf([...kept, row], 1e-13), before);
          } else if (rankOf([...kept, row], 1e-13) > before) {
            kept.push(row);
            span.add(residual);
          }
        }
        // An exact integer combination of the kept rows is in their span.
        const combination = new Array<number>(n).fill(0);
        kept.forEach((r, k) => r.forEach((v, i) => (combination[i] += weights[k] * v)));
        assert.ok(euclideanNorm(span.residual(combination)) <= 1e-13 * Math.max(1, euclideanNorm(combination)) * 100);
        assert.equal(rankOf([...kept, combination], 1e-13), kept.length);
      },
    ),
    { numRuns: 300, seed: 20261205 },
  );
});
