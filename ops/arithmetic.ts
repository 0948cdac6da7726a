/**
 * Elementwise arithmetic with broadcasting. Each rule is the local derivative times `g`, summed
 * back to its input's shape with `sumTo` (a broadcast in the forward pass is a sum in backward).
 */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import { broadcastShape } from "./kernels/broadcast.ts";

const both = ({ a, b }: { a: readonly number[]; b: readonly number[] }) => broadcastShape(a, b);

/** a + b */
export const add = atomic({
  name: "add",
  inputs: ["a", "b"],
  shape: both,
  forward: ({ a, b }, out) => void t.add(a, b, out),
  vjp: {
    a: ({ g, inputs: { a } }) => t.sumTo(g, a.shape),
    b: ({ g, inputs: { b } }) => t.sumTo(g, b.shape),
  },
});

/** a − b */
export const sub = atomic({
  name: "sub",
  inputs: ["a", "b"],
  shape: both,
  forward: ({ a, b }, out) => void t.sub(a, b, out),
  vjp: {
    a: ({ g, inputs: { a } }) => t.sumTo(g, a.shape),
    b: ({ g, inputs: { b } }) => t.sumTo(t.neg(g), b.shape),
  },
});

/** a · b */
export const mul = atomic({
  name: "mul",
  inputs: ["a", "b"],
  shape: both,
  forward: ({ a, b }, out) => void t.mul(a, b, out),
  vjp: {
    a: ({ g, inputs: { a, b } }) => t.sumTo(t.mul(g, b), a.shape),
    b: ({ g, inputs: { a, b } }) => t.sumTo(t.mul(g, a), b.shape),
  },
});

/** a / b */
export const div = atomic({
  name: "div",
  inputs: ["a", "b"],
  shape: both,
  forward: ({ a, b }, out) => void t.div(a, b, out),
  vjp: {
    a: ({ g, inputs: { a, b } }) => t.sumTo(t.div(g, b), a.shape),
    // d(a/b)/db = −a/b² = −out/b
    b: ({ g, out, inputs: { b } }) => t.sumTo(t.neg(t.mul(g, t.div(out, b))), b.shape),
  },
});

/** −x */
export const neg = atomic({
  name: "neg",
  inputs: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out) => void t.neg(x, out),
  vjp: { x: ({ g }) => t.neg(g) },
});

/** xᵖ for a scalar exponent `p`. */
export const pow = atomic<"x", { p: number }>({
  name: "pow",
  inputs: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out, { p }) => void t.pow(x, p, out),
  vjp: { x: ({ g, inputs: { x }, attrs: { p } }) => t.mul(g, t.mul(p, t.pow(x, p - 1))) },
});
