/**
 * Finite-difference checks of the elementwise ops in float64, with a random non-unit upstream
 * gradient and the broadcast shapes of the lecture: (32,1) and (1,64) against (32,64), a 1-D bias
 * against a 2-D tensor, a scalar tensor, and a plain number.
 */
import { add, div, exp, Graph, log, mul, neg, type Node, pow, sub, tanh } from "../mod.ts";
import { assertGradcheck, rng, uniform } from "./helpers.ts";

type Binary = (a: Node | number, b: Node | number) => Node;
const BINARY: Record<string, Binary> = { add, sub, mul, div };

/** Builds `op(a, b)` on two params of the given shapes and gradchecks it. */
function checkBinary(name: string, aShape: number[], bShape: number[]): void {
  const rand = rng(`${name} ${aShape} ${bShape}`);
  const g = new Graph({ dtype: "float64" });
  const a = g.param("a", uniform(rand, aShape));
  // Keep divisors away from zero, where the finite difference is ill-conditioned.
  const b = g.param("b", name === "div" ? uniform(rand, bShape, 0.5, 2) : uniform(rand, bShape));
  assertGradcheck(g, BINARY[name](a, b).named("out"), rand);
}

for (const name of Object.keys(BINARY)) {
  Deno.test(`${name}: same shapes`, () => checkBinary(name, [3, 4], [3, 4]));
  Deno.test(`${name}: (6,1) against (6,5) and (6,5) against (1,5)`, () => {
    checkBinary(name, [6, 5], [6, 1]);
    checkBinary(name, [1, 5], [6, 5]);
  });
  Deno.test(`${name}: (6,1) against (1,5) broadcast both ways`, () => {
    checkBinary(name, [6, 1], [1, 5]);
  });
  Deno.test(`${name}: a 1-D bias against 2-D, and a scalar tensor`, () => {
    checkBinary(name, [4, 5], [5]);
    checkBinary(name, [], [4, 5]);
  });
  Deno.test(`${name}: a plain number operand on either side`, () => {
    const rand = rng(`${name} number`);
    const g = new Graph({ dtype: "float64" });
    const x = g.param("x", uniform(rand, [3, 4], 0.5, 2));
    assertGradcheck(g, BINARY[name](x, 1.7).named("right"), rand);
    assertGradcheck(g, BINARY[name](-2.5, x).named("left"), rand);
  });
}

Deno.test("add/sub/mul/div: the lecture's (32,1) and (1,64) against (32,64)", () => {
  for (const name of Object.keys(BINARY)) {
    checkBinary(name, [32, 64], [32, 1]);
    checkBinary(name, [1, 64], [32, 64]);
  }
});

Deno.test("neg, exp, tanh", () => {
  const rand = rng("unary");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [4, 5], -2, 2));
  assertGradcheck(g, neg(x), rand);
  assertGradcheck(g, exp(x), rand);
  assertGradcheck(g, tanh(x), rand);
});

Deno.test("log of positive values", () => {
  const rand = rng("log");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [4, 5], 0.2, 3));
  assertGradcheck(g, log(x), rand);
});

Deno.test("pow with the lecture's exponents and others", () => {
  const rand = rng("pow");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [4, 5], 0.3, 2));
  for (const p of [2, -1, -0.5, 3, 1.5, 0.5]) assertGradcheck(g, pow(x, p).named(`pow${p}`), rand);
  const y = g.param("y", uniform(rand, [3, 3], -2, 2)); // integer powers of negatives
  assertGradcheck(g, pow(y, 2), rand);
  assertGradcheck(g, pow(y, 3), rand);
});

Deno.test("a chain of elementwise ops through broadcasting", () => {
  const rand = rng("chain");
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", uniform(rand, [6, 5]));
  const s = g.param("s", uniform(rand, [6, 1], 0.5, 1.5));
  const b = g.param("b", uniform(rand, [5]));
  const y = tanh(add(div(mul(x, x), s), b));
  assertGradcheck(g, log(add(exp(neg(y)), 1)).named("out"), rand);
});
