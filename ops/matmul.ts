/**
 * Matrix product. The backward follows from the shapes: dA = g @ Bᵀ, dB = Aᵀ @ g, and the
 * transposes are read in place by the kernel, never copied. Two matrices take `matmul`; every
 * other pair of operands (batches, vectors) takes `batchedMatmul`, as torch.matmul.
 */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import type { MatmulAttrs } from "./kernels/mod.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, sameShape, type Shape, type Tensor } from "./kernels/tensor.ts";
import { batchedMatmulShape } from "./kernels/batched.ts";

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

/** The operands as matrices: a vector a is a row (1, k), a vector b a column (k, 1). */
function lifted(a: Shape, b: Shape): { a: Shape; b: Shape; out: number[] } {
  if (a.length === 0 || b.length === 0) {
    throw new NinjagradError(
      `matmul needs operands of rank 1 or more, got ${formatShape(a)} and ${formatShape(b)}`,
    );
  }
  const A = a.length === 1 ? [1, a[0]] : a, B = b.length === 1 ? [b[0], 1] : b;
  const full = batchedMatmulShape(A, B, NN);
  // What torch.matmul returns: the axis a vector was lifted by is dropped again.
  const out = full.filter((_, i) =>
    !(a.length === 1 && i === full.length - 2) && !(b.length === 1 && i === full.length - 1)
  );
  return { a: A, b: B, out };
}

const NN = VARIANTS[0][0], NT = VARIANTS[0][1], TN = VARIANTS[1][0];

/** `t` viewed with `shape` (itself when it has that shape already). */
function view(t: Tensor, shape: Shape): Tensor {
  return sameShape(t.shape, shape) ? t : t.reshape(shape);
}

/**
 * torch.matmul for every other pair of operands: matrices batched over leading axes, which
 * broadcast, (..., m, k) @ (..., k, n); a vector on either side is a row or a column whose axis
 * the output drops. The rules are 2-D matmul's per matrix, dA = g @ Bᵀ and dB = Aᵀ @ g, summed
 * over the batch axes an operand was broadcast along.
 */
export const batchedMatmul = atomic<"a" | "b">({
  name: "matmul",
  inputs: ["a", "b"],
  shape: ({ a, b }) => lifted(a, b).out,
  forward: ({ a, b }, out) => {
    const s = lifted(a.shape, b.shape);
    t.batchedMatmul(view(a, s.a), view(b, s.b), NN, view(out, batchedMatmulShape(s.a, s.b, NN)));
  },
  vjp: {
    a: ({ g, inputs: { a, b } }) => {
      const s = lifted(a.shape, b.shape);
      const G = view(g, batchedMatmulShape(s.a, s.b, NN));
      return view(t.sumTo(t.batchedMatmul(G, view(b, s.b), NT), s.a), a.shape);
    },
    b: ({ g, inputs: { a, b } }) => {
      const s = lifted(a.shape, b.shape);
      const G = view(g, batchedMatmulShape(s.a, s.b, NN));
      return view(t.sumTo(t.batchedMatmul(view(a, s.a), G, TN), s.b), b.shape);
    },
  },
});
