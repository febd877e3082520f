/**
 * Derived-parameter expressions read as the arithmetic they are written in (docs/reliability.md,
 * finding 38): the value a runner receives is the value of the written formula. Expression trees
 * of + - * / % ^, unary minus and numbers are written out with only the parentheses ordinary
 * arithmetic needs (as Python, NOMAD's own scripts and a textbook read them: ^ binds tighter than
 * unary minus, and is right-associative), and the parsed expression must give the tree's value.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DerivedExpression, ExpressionError } from './derived-expression';

type Tree =
  | { kind: 'number'; value: number }
  | { kind: 'neg'; operand: Tree }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/' | '%' | '^'; left: Tree; right: Tree };

const PRECEDENCE = { '+': 1, '-': 1, '*': 2, '/': 2, '%': 2, neg: 3, '^': 4, number: 5 } as const;

function precedence(tree: Tree): number {
  return tree.kind === 'number' ? PRECEDENCE.number : tree.kind === 'neg' ? PRECEDENCE.neg : PRECEDENCE[tree.op];
}

/** The text a person writes: parentheses only where arithmetic's precedence needs them. */
function write(tree: Tree): string {
  const wrap = (inner: Tree, needed: boolean): string => (needed ? `(${write(inner)})` : write(inner));
  switch (tree.kind) {
    case 'number':
      return String(tree.value);
    case 'neg':
      // -a^b is -(a^b): a power needs no parentheses under a minus; a sum or a product does.
      return `-${wrap(tree.operand, precedence(tree.operand) < PRECEDENCE.neg)}`;
    case 'binary': {
      const own = PRECEDENCE[tree.op];
      if (tree.op === '^') {
        // Right-associative; a negative base must be parenthesised ((-2)^2), an exponent may be
        // negative (2^-1), written here in parentheses to keep to one reading.
        return `${wrap(tree.left, precedence(tree.left) <= own)}^${wrap(tree.right, precedence(tree.right) < own)}`;
      }
      return `${wrap(tree.left, precedence(tree.left) < own)} ${tree.op} ${wrap(tree.right, precedence(tree.right) <= own)}`;
    }
  }
}

function value(tree: Tree): number {
  switch (tree.kind) {
    case 'number':
      return tree.value;
    case 'neg':
      return -value(tree.operand);
    case 'binary': {
      const [a, b] = [value(tree.left), value(tree.right)];
      return { '+': a + b, '-': a - b, '*': a * b, '/': a / b, '%': a % b, '^': a ** b }[tree.op];
    }
  }
}

const trees = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('number' as const), value: fc.constantFrom(0, 0.5, 1, 2, 3, 10) }),
    fc.record({ kind: fc.constant('neg' as const), operand: tie('tree') }),
    fc.record({
      kind: fc.constant('binary' as const),
      op: fc.constantFrom('+', '-', '*', '/', '%', '^'),
      left: tie('tree'),
      right: tie('tree'),
    }),
  ) as fc.Arbitrary<Tree>,
})).tree;

describe('derived expressions read as written arithmetic', () => {
  test('the parsed expression has the value of the tree it was written from (fast-check)', () => {
    fc.assert(
      fc.property(trees, (tree) => {
        const text = write(tree);
        const got = DerivedExpression.parse(text).evaluate({});
        assert.ok(Object.is(got, value(tree)), `${text}: parsed ${got}, written ${value(tree)}`);
      }),
      { numRuns: Number(process.env.MESHTUNE_PROPERTY_RUNS ?? 2_000) },
    );
  });

  test('a minus before a power negates the power; a parenthesised base is raised', () => {
    const at = (text: string, x = 3): number => DerivedExpression.parse(text).evaluate({ x });
    assert.equal(at('-x^2'), -9);
    assert.equal(at('-x**2'), -9);
    assert.equal(at('(-x)^2'), 9);
    assert.equal(at('exp(-x^2)'), Math.exp(-9));
    assert.equal(at('1 - -x^2'), 10);
    assert.equal(at('2^-x^2'), 2 ** -9);
    assert.equal(at('--x^2'), 9);
    assert.equal(at('-(x)^2'), -9);
  });

  test('empty parentheses are refused, as before', () => {
    assert.throws(() => DerivedExpression.parse('()'), ExpressionError);
    assert.throws(() => DerivedExpression.parse('x + ()'), ExpressionError);
    assert.throws(() => DerivedExpression.parse('(x)(2)'), ExpressionError);
  });
});
