/**
 * Activations: relu, sigmoid and gelu. As in unary.ts, each derivative is on the line after its
 * forward; relu's and sigmoid's are written with the output, gelu's with the input.
 */
import { atomic } from "../graph/op.ts";
import * as k from "./kernels/activation.ts";

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

/**
 * gelu(x) = x·Φ(x), Φ the standard normal distribution function (the exact erf form, PyTorch's
 * default); d/dx = Φ(x) + x·φ(x), φ its density.
 */
export const gelu = atomic({
  name: "gelu",
  inputs: ["x"],
  shape: same,
  forward: ({ x }, out) => void k.gelu(x, out),
  vjp: { x: ({ g, inputs: { x } }) => k.geluBackward(g, x) },
});
