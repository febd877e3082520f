/** The small dense linear algebra of the models and the NM simplex. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankOf, singularValues } from './linalg';

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
