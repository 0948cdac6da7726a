/**
 * The kernels of the closed-form rules (ops/kernels/closed_form.ts) against their formulas
 * computed kernel by kernel, as ops/nn.ts's rules are written in their comments: batchnorm's dx
 * and dgain, cross-entropy's dlogits, bit for bit in both dtypes, on the lecture's batch and on
 * widths that leave every tail of the kernels' lanes (sixteen columns, four, one).
 */
import assert from "node:assert/strict";
import { type FloatDType, type Shape, Tensor } from "../ops/kernels/tensor.ts";
import * as t from "../ops/kernels/mod.ts";
import { seeded } from "../exercises/bench/workloads.ts";

const OVER = { axis: 0, keepdim: true } as const;
const SHAPES = [[32, 200], [9, 30], [33, 27], [6, 7], [2, 300], [1, 300]];

function random(shape: Shape, dtype: FloatDType, rand: () => number, lo = -1, hi = 1): Tensor {
  const x = Tensor.zeros(shape, dtype);
  for (let i = 0; i < x.size; i++) x.data[i] = lo + (hi - lo) * rand();
  return x;
}

/** Asserts the same bits (NaN equal to NaN, −0 apart from 0). */
function sameBits(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, what);
  for (let i = 0; i < want.size; i++) {
    if (!Object.is(got.data[i], want.data[i])) {
      assert.fail(`${what}: element ${i} is ${got.data[i]}, want ${want.data[i]}`);
    }
  }
}

Deno.test("batchnorm's dx = gain·bnvar_inv/n · (n·g − Σg − n/(n−1)·bnraw·Σ(g·bnraw)), and dgain = Σ g·bnraw, give the formula's bits", () => {
  const rand = seeded(40);
  for (const dtype of ["float32", "float64"] as const) {
    for (const [n, width] of SHAPES) {
      for (const gainShape of [[1, width], [width]]) {
        const g = random([n, width], dtype, rand), bnraw = random([n, width], dtype, rand, -3, 3);
        const gain = random(gainShape, dtype, rand, 0.5, 1.5);
        const bnvarInv = random([1, width], dtype, rand, 0.1, 10);
        const inner = t.sub(
          t.sub(t.mul(n, g), t.sum(g, OVER)),
          t.mul(n / (n - 1), t.mul(bnraw, t.sum(t.mul(g, bnraw), OVER))),
        );
        const dx = t.mul(t.div(t.mul(gain, bnvarInv), n), inner);
        const what = `${dtype} ${n}×${width}, gain ${gainShape}`;
        sameBits(t.batchNormDx(g, gain, bnraw, bnvarInv), dx, `dx, ${what}`);
        const dgain = t.sumTo(t.mul(g, bnraw), gainShape);
        sameBits(t.mulSumTo(g, bnraw, gainShape), dgain, `dgain, ${what}`);
      }
    }
  }
});

Deno.test("cross-entropy's dlogits = (softmax − onehot(targets)) / n · g gives the formula's bits", () => {
  const rand = seeded(41);
  for (const dtype of ["float32", "float64"] as const) {
    for (const [n, classes] of SHAPES) {
      const probs = random([n, classes], dtype, rand, 0, 1);
      const targets = new Tensor(
        Int32Array.from({ length: n }, () => Math.floor(rand() * classes)),
        [n],
      );
      const g = random([], dtype, rand, 0.5, 2);
      const onehot = t.oneHot(targets, classes, undefined, probs);
      const want = t.mul(t.sub(probs, onehot), t.div(g, n));
      sameBits(t.probsMinusOneHot(probs, targets, g), want, `${dtype} ${n}×${classes}`);
    }
  }
});
