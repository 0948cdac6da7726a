/**
 * Activations: relu, sigmoid and gelu. As in unary.ts, each derivative is on the line after its
 * forward; relu's and sigmoid's are written with the output, gelu's with the input.
 */
import { atomic } from "../graph/op.ts";
import * as k from "./kernels/activation.ts";
import type { Tensor } from "./kernels/tensor.ts";

const same = ({ x }: { x: readonly number[] }) => x;

/** max(x, 0); d/dx = 1 where the output is positive, else 0. */
export const relu = atomic({
  name: "relu",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void k.relu(x, out),
  vjp: { x: ({ g, out }) => k.reluBackward(g, out) },
});

/** σ(x) = 1 / (1 + e⁻ˣ); d/dx = σ(x)·(1 − σ(x)), written with the output. */
export const sigmoid = atomic({
  name: "sigmoid",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void k.sigmoid(x, out),
  vjp: { x: ({ g, out }) => k.sigmoidBackward(g, out) },
});

/** gelu's form: the exact erf one (PyTorch's default) or the tanh approximation. */
export interface GeluAttrs {
  /** "none" (or left out): x·Φ(x); "tanh": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  approximate?: "none" | "tanh";
}

/**
 * gelu(x) = x·Φ(x), Φ the standard normal distribution function; d/dx = Φ(x) + x·φ(x), φ its
 * density. With approximate "tanh", gelu(x) = x·s, s = (1 + tanh u)/2, u = √(2/π)(x + 0.044715x³);
 * d/dx = s + x·2s(1 − s)·du/dx.
 */
export const gelu = atomic<"x", GeluAttrs, Tensor | undefined>({
  name: "gelu",
  inputs: ["x"],
  shape: same,
  // float32's tanh form keeps tanh u for the rule, which would otherwise compute it again.
  forward: ({ x }, out, { approximate }, prev) => {
    const t = k.geluKeep(x, approximate, prev);
    k.gelu(x, out, approximate, t);
    return t;
  },
  vjp: {
    x: ({ g, out, saved, inputs: { x }, attrs: { approximate } }) =>
      k.geluBackward(g, x, undefined, approximate, out, saved),
  },
});
