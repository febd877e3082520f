import jsep from 'jsep';

/**
 * Arithmetic over parameters for derived parameters, parsed with jsep into an AST and
 * evaluated by walking it: only numbers, parameter names, + - * / % ^ **, unary minus,
 * parentheses and a fixed list of math functions. Nothing is ever passed to eval.
 *
 * Read as arithmetic is written (and as Python reads `**`): `^` binds tighter than a unary minus
 * and is right-associative, so `-x^2` is `-(x^2)` and `exp(-x^2)` a Gaussian; `(-x)^2` raises the
 * negative base. jsep binds every unary operator tighter than any binary one, which gave `x^2`
 * for `-x^2` (docs/reliability.md, finding 38); `unaryUnderPower` puts the minus back above the
 * power unless the written text parenthesised it.
 */

const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  exp: Math.exp,
  floor: Math.floor,
  log: Math.log,
  log10: Math.log10,
  log2: Math.log2,
  max: Math.max,
  min: Math.min,
  pow: Math.pow,
  round: Math.round,
  sqrt: Math.sqrt,
};

const BINARY: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
  '^': (a, b) => a ** b,
  '**': (a, b) => a ** b,
};

/** Nodes the text put in parentheses: `(-x)^2` keeps its negative base, `-x^2` does not. */
const parenthesised = new WeakSet<object>();

let configured = false;
function parser(): typeof jsep {
  if (!configured) {
    // A group is parsed here rather than by jsep so that its node can be marked; what jsep would
    // have allowed after a group (a call or a member: `(f)(x)`, `(x).y`) is no expression here.
    jsep.hooks.add('gobble-token', function gobbleGroup(env) {
      if (this.code !== OPEN_PARENTHESIS) return;
      const node = this.gobbleGroup() as Node | false;
      if (node === false) this.throwError('empty parentheses');
      parenthesised.add(node);
      env.node = node;
    });
    jsep.addBinaryOp('^', 11, true);
    jsep.addBinaryOp('**', 11, true);
    for (const op of ['||', '&&', '|', '&', '==', '!=', '===', '!==', '<', '>', '<=', '>=', '<<', '>>', '>>>']) {
      jsep.removeBinaryOp(op);
    }
    for (const op of ['!', '~', '+']) jsep.removeUnaryOp(op);
    configured = true;
  }
  return jsep;
}

export class ExpressionError extends Error {}

type Node = jsep.Expression;

const OPEN_PARENTHESIS = 0x28;

/**
 * `-a ^ b`, which jsep reads `(-a) ^ b`, as arithmetic reads it: `-(a ^ b)`, at any depth
 * (`--a^b` is `-(-(a^b))`, `2^-a^b` is `2^(-(a^b))`); a parenthesised `(-a)` stays the base.
 */
function unaryUnderPower(node: Node): Node {
  const rebuilt = rebuild(node);
  if (parenthesised.has(node)) parenthesised.add(rebuilt);
  return rebuilt;
}

/** `base ^ exponent`, both already rebuilt, with any unparenthesised minus of the base moved above it. */
function power(binary: jsep.BinaryExpression, base: Node, exponent: Node): Node {
  if (base.type !== 'UnaryExpression' || parenthesised.has(base)) return { ...binary, left: base, right: exponent };
  const unary = base as jsep.UnaryExpression;
  return { ...unary, argument: power(binary, unary.argument, exponent) };
}

function rebuild(node: Node): Node {
  switch (node.type) {
    case 'BinaryExpression': {
      const binary = node as jsep.BinaryExpression;
      const left = unaryUnderPower(binary.left);
      const right = unaryUnderPower(binary.right);
      return binary.operator === '^' || binary.operator === '**'
        ? power(binary, left, right)
        : { ...binary, left, right };
    }
    case 'UnaryExpression': {
      const unary = node as jsep.UnaryExpression;
      return { ...unary, argument: unaryUnderPower(unary.argument) };
    }
    case 'CallExpression': {
      const call = node as jsep.CallExpression;
      return { ...call, arguments: call.arguments.map(unaryUnderPower) };
    }
    default:
      return node;
  }
}

export class DerivedExpression {
  private constructor(
    readonly source: string,
    private readonly ast: Node,
    readonly variables: ReadonlySet<string>,
  ) {}

  static parse(source: string): DerivedExpression {
    let ast: Node;
    try {
      ast = unaryUnderPower(parser()(source));
    } catch (error) {
      throw new ExpressionError(`cannot parse expression: ${(error as Error).message}`);
    }
    const variables = new Set<string>();
    DerivedExpression.check(ast, variables);
    return new DerivedExpression(source, ast, variables);
  }

  private static check(node: Node, variables: Set<string>): void {
    switch (node.type) {
      case 'Literal':
        if (typeof (node as jsep.Literal).value !== 'number') {
          throw new ExpressionError(`only numeric literals are allowed, got ${String((node as jsep.Literal).raw)}`);
        }
        return;
      case 'Identifier':
        variables.add((node as jsep.Identifier).name);
        return;
      case 'BinaryExpression': {
        const binary = node as jsep.BinaryExpression;
        if (!(binary.operator in BINARY)) throw new ExpressionError(`operator "${binary.operator}" is not allowed`);
        DerivedExpression.check(binary.left, variables);
        DerivedExpression.check(binary.right, variables);
        return;
      }
      case 'UnaryExpression': {
        const unary = node as jsep.UnaryExpression;
        if (unary.operator !== '-') throw new ExpressionError(`operator "${unary.operator}" is not allowed`);
        DerivedExpression.check(unary.argument, variables);
        return;
      }
      case 'CallExpression': {
        const call = node as jsep.CallExpression;
        const callee = call.callee as jsep.Identifier;
        if (callee.type !== 'Identifier' || !Object.hasOwn(FUNCTIONS, callee.name)) {
          throw new ExpressionError(`unknown function; allowed: ${Object.keys(FUNCTIONS).join(', ')}`);
        }
        call.arguments.forEach((argument) => DerivedExpression.check(argument, variables));
        return;
      }
      default:
        throw new ExpressionError(`"${node.type}" is not allowed in an expression`);
    }
  }

  evaluate(values: Readonly<Record<string, number>>): number {
    return this.walk(this.ast, values);
  }

  private walk(node: Node, values: Readonly<Record<string, number>>): number {
    switch (node.type) {
      case 'Literal':
        return (node as jsep.Literal).value as number;
      case 'Identifier': {
        const name = (node as jsep.Identifier).name;
        const value = Object.hasOwn(values, name) ? values[name] : undefined;
        if (typeof value !== 'number') throw new ExpressionError(`"${name}" has no numeric value`);
        return value;
      }
      case 'BinaryExpression': {
        const binary = node as jsep.BinaryExpression;
        return BINARY[binary.operator](this.walk(binary.left, values), this.walk(binary.right, values));
      }
      case 'UnaryExpression':
        return -this.walk((node as jsep.UnaryExpression).argument, values);
      case 'CallExpression': {
        const call = node as jsep.CallExpression;
        const fn = FUNCTIONS[(call.callee as jsep.Identifier).name];
        return fn(...call.arguments.map((argument) => this.walk(argument, values)));
      }
      default:
        throw new ExpressionError(`"${node.type}" is not allowed in an expression`);
    }
  }
}
