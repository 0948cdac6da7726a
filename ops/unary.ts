/** exp, log, tanh, sqrt and abs: a learner finds each derivative on the line after its forward. */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import * as k from "./kernels/activation.ts";

const same = ({ x }: { x: readonly number[] }) => x;

/** eˣ; its derivative is itself, so the rule reuses the output. */
export const exp = atomic({
  name: "exp",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void t.exp(x, out),
  vjp: { x: ({ g, out }) => t.mul(g, out) },
});

/** ln x; d/dx = 1/x. */
export const log = atomic({
  name: "log",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void t.log(x, out),
  vjp: { x: ({ g, inputs: { x } }) => t.div(g, x) },
});

/** tanh x; d/dx = 1 − tanh² x, written with the output. */
export const tanh = atomic({
  name: "tanh",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void t.tanh(x, out),
  vjp: { x: ({ g, out }) => t.mul(g, t.oneMinusSquare(out)) },
});

/** √x; d/dx = 1 / (2√x), written with the output. */
export const sqrt = atomic({
  name: "sqrt",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void k.sqrt(x, out),
  vjp: { x: ({ g, out }) => k.sqrtBackward(g, out) },
});

/** |x|; d/dx = sign(x), 0 at 0 (as PyTorch). */
export const abs = atomic({
  name: "abs",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void k.abs(x, out),
  vjp: { x: ({ g, inputs: { x } }) => k.absBackward(g, x) },
});
