/**
 * Matrix product. The backward follows from the shapes: dA = g @ Bᵀ, dB = Aᵀ @ g, and the
 * transposes are read in place by the kernel, never copied.
 */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import type { MatmulAttrs } from "./kernels/mod.ts";

/** The four variants' attributes, made once: a rule runs on every backward pass. */
const VARIANTS: readonly (readonly MatmulAttrs[])[] = [
  [{ transA: false, transB: false }, { transA: false, transB: true }],
  [{ transA: true, transB: false }, { transA: true, transB: true }],
];
const variant = (transA: boolean, transB: boolean) => VARIANTS[+transA][+transB];

/** op(A) @ op(B), where op transposes when `transA` / `transB` is set. */
export const matmul = atomic<"a" | "b", MatmulAttrs>({
  name: "matmul",
  inputs: ["a", "b"],
  shape: ({ a, b }, attrs) => t.matmulShape(a, b, attrs),
  forward: ({ a, b }, out, attrs) => void t.matmul(a, b, attrs, out),
  vjp: {
    a: ({ g, inputs: { b }, attrs: { transA, transB } }) =>
      transA ? t.matmul(b, g, variant(transB, true)) : t.matmul(g, b, variant(false, !transB)),
    b: ({ g, inputs: { a }, attrs: { transA, transB } }) =>
      transB ? t.matmul(g, a, variant(true, transA)) : t.matmul(a, g, variant(!transA, false)),
  },
});
