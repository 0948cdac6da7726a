/** Softmax and log-softmax along an axis. */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";

/** softmax(x) along `axis`. Backward: dx = y · (g − Σ g·y), the sum along the axis. */
export const softmax = atomic<"x", { axis: number }>({
  name: "softmax",
  inputs: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out, { axis }) => void t.softmax(x, axis, false, out),
  vjp: {
    x: ({ g, out, attrs: { axis } }) =>
      t.mul(out, t.sub(g, t.sum(t.mul(g, out), { axis, keepdim: true }))),
  },
});

/** log softmax(x) along `axis`. Backward: dx = g − softmax(x) · Σ g. */
export const logSoftmax = atomic<"x", { axis: number }>({
  name: "log_softmax",
  inputs: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out, { axis }) => void t.softmax(x, axis, true, out),
  vjp: {
    x: ({ g, out, attrs: { axis } }) =>
      t.sub(g, t.mul(t.exp(out), t.sum(g, { axis, keepdim: true }))),
  },
});
