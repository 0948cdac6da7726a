/**
 * Reductions over an axis: sum, mean, max, min, var. Their backward spreads `g` back over the reduced
 * axis (a sum in forward is a broadcast in backward).
 */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import type { ReduceAttrs } from "./kernels/mod.ts";
import type { Tensor } from "./kernels/tensor.ts";
import { min as minKernel } from "./kernels/select.ts";

const reduced = ({ x }: { x: readonly number[] }, attrs: ReduceAttrs) => t.reducedShape(x, attrs);

/** Σ over an axis. */
export const sum = atomic<"x", ReduceAttrs>({
  name: "sum",
  inputs: ["x"],
  shape: reduced,
  forward: ({ x }, out, attrs) => void t.sum(x, attrs, out),
  vjp: { x: ({ g, inputs: { x }, attrs }) => t.expand(g, x.shape, attrs.axis) },
});

/** The mean over an axis. */
export const mean = atomic<"x", ReduceAttrs>({
  name: "mean",
  inputs: ["x"],
  shape: reduced,
  forward: ({ x }, out, attrs) =>
    void t.mul(t.sum(x, attrs, out), 1 / t.axisLength(x.shape, attrs.axis), out),
  vjp: {
    x: ({ g, inputs: { x }, attrs }) =>
      t.expand(g, x.shape, attrs.axis, 1 / t.axisLength(x.shape, attrs.axis)),
  },
});

/** The max over an axis (values only). Its gradient goes to the first arg-max entry alone. */
export const max = atomic<"x", ReduceAttrs, Int32Array>({
  name: "max",
  inputs: ["x"],
  shape: reduced,
  forward: ({ x }, out, attrs, prev) => {
    const argmax = prev?.length === out.size ? prev : new Int32Array(out.size);
    t.max(x, attrs, argmax, out);
    return argmax;
  },
  vjp: { x: ({ g, inputs: { x }, attrs, saved }) => t.scatterMax(g, x.shape, attrs.axis, saved) },
});

/** Variance over an axis; `unbiased` divides by n − 1 (Bessel's correction), as the lecture. */
export const variance = atomic<"x", ReduceAttrs & { unbiased: boolean }, Tensor>({
  name: "var",
  inputs: ["x"],
  shape: reduced,
  forward: ({ x }, out, attrs) => {
    const n = t.axisLength(x.shape, attrs.axis);
    const mean = t.mul(t.sum(x, { axis: attrs.axis, keepdim: true }), 1 / n);
    const diff = t.sub(x, mean);
    t.mul(t.sum(t.mul(diff, diff), attrs), 1 / (attrs.unbiased ? n - 1 : n), out);
    return diff;
  },
  // d var / dx_i = 2 (x_i − mean) / (n − 1); the mean's own dependence on x_i sums to zero.
  vjp: {
    x: ({ g, inputs: { x }, attrs, saved: diff }) => {
      const n = t.axisLength(x.shape, attrs.axis);
      return t.mul(t.mul(t.expand(g, x.shape, attrs.axis), diff), 2 / (attrs.unbiased ? n - 1 : n));
    },
  },
});

/** The min over an axis (values only). Its gradient goes to the first arg-min entry alone. */
export const min = atomic<"x", ReduceAttrs, Int32Array>({
  name: "min",
  inputs: ["x"],
  shape: reduced,
  forward: ({ x }, out, attrs, prev) => {
    const argmin = prev?.length === out.size ? prev : new Int32Array(out.size);
    minKernel(x, attrs, argmin, out);
    return argmin;
  },
  vjp: { x: ({ g, inputs: { x }, attrs, saved }) => t.scatterMax(g, x.shape, attrs.axis, saved) },
});
