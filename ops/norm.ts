/**
 * Layer normalisation, a composite op as batchnorm (nn.ts), over the last axis instead of the
 * batch: each row is centred and scaled by its own mean and (biased, as PyTorch's) variance, then
 * gain and bias apply. `closedForm` is its one-step backward, derived as the lecture's exercise 3
 * derives batchnorm's.
 */
import { composite } from "../graph/op.ts";
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, type Shape } from "./kernels/tensor.ts";
import * as t from "./kernels/mod.ts";
import * as b from "./build.ts";

/** Sums along the last axis, keeping it: made once, not on every call of a rule. */
const OVER_ROW = { axis: -1, keepdim: true } as const;

/** Whether `p` broadcasts against `x` without changing x's shape. */
function fitsInto(p: Shape, x: Shape): boolean {
  if (p.length > x.length) return false;
  for (let i = 1; i <= p.length; i++) {
    const d = p[p.length - i];
    if (d !== 1 && d !== x[x.length - i]) return false;
  }
  return true;
}

/** layer_norm(x, (C,), gain, bias, eps) over the last axis C of x. */
export const layerNorm = composite<"x" | "gain" | "bias", { eps: number }>({
  name: "layernorm",
  inputs: ["x", "gain", "bias"],
  build: ({ x, gain, bias }, { eps }) => {
    for (const p of [gain, bias]) {
      if (x.shape.length === 0 || !fitsInto(p.shape, x.shape)) {
        throw new NinjagradError(
          `layerNorm: ${p.name} ${formatShape(p.shape)} must broadcast into x ${
            formatShape(x.shape)
          } (give it x's last axis, as (${x.shape[x.shape.length - 1] ?? ""},))`,
        );
      }
    }
    const mean = b.mean(x, -1, true).named("lnmean");
    const diff = b.sub(x, mean).named("lndiff");
    const diff2 = b.pow(diff, 2).named("lndiff2");
    const variance = b.mean(diff2, -1, true).named("lnvar");
    const inv = b.pow(b.add(variance, eps).named("lnvar_eps"), -0.5).named("lnvar_inv");
    const raw = b.mul(diff, inv).named("lnraw");
    return b.add(b.mul(gain, raw).named("lnscaled"), bias).named("out");
  },
  closedForm: {
    // With ĝ = g·gain: dx = lnvar_inv/n · (n·ĝ − Σĝ − lnraw·Σ(ĝ·lnraw)), sums along the row
    x: ({ g, inputs: { gain }, saved: { lnraw, lnvar_inv } }) => {
      const n = g.shape[g.shape.length - 1];
      const gh = t.mul(g, gain);
      const inner = t.sub(
        t.sub(t.mul(n, gh), t.sum(gh, OVER_ROW)),
        t.mul(lnraw, t.sum(t.mul(gh, lnraw), OVER_ROW)),
      );
      return t.mul(t.div(lnvar_inv, n), inner);
    },
    gain: ({ g, inputs: { gain }, saved: { lnraw } }) => t.sumTo(t.mul(g, lnraw), gain.shape),
    bias: ({ g, inputs: { bias } }) => t.sumTo(g, bias.shape),
  },
});
