/**
 * The speed kernels at the lecture's sizes give the very bits of what they replace, in both
 * dtypes, on shapes whose widths are not multiples of four too: batchnorm's fused forward
 * (WebAssembly in float32) and cross-entropy's against node-by-node evaluation; row sums,
 * expand and tanh's g·(1 − y²) against plain loops; and the float32 finiteness check that
 * backward runs on every rule's result.
 */
import assert from "node:assert/strict";
import { assertSameSaved } from "./helpers.ts";
import { Graph } from "../graph/graph.ts";
import { type FloatDType, type Shape, Tensor } from "../ops/kernels/tensor.ts";
import * as b from "../ops/build.ts";
import { rowSums } from "../ops/kernels/reduce.ts";
import * as t from "../ops/kernels/mod.ts";
import { finiteF32 } from "../ops/kernels/simd.ts";
import { seeded } from "../exercises/bench/workloads.ts";

function random(shape: Shape, dtype: FloatDType, rand: () => number, scale = 1): Tensor {
  const x = Tensor.zeros(shape, dtype);
  for (let i = 0; i < x.size; i++) x.data[i] = (rand() * 2 - 1) * scale;
  return x;
}

/** linear → batchnorm → tanh → linear → cross-entropy on `n` examples, `hidden` units wide. */
function net(dtype: FloatDType, n: number, hidden: number, classes: number, bias1d: boolean) {
  const rand = seeded(n * 1000 + hidden);
  const g = new Graph({ dtype });
  const x = g.input("x", random([n, 7], dtype, rand, 2));
  const w1 = g.param("w1", random([7, hidden], dtype, rand));
  const b1 = g.param("b1", random([hidden], dtype, rand));
  const gain = g.param("gain", random(bias1d ? [hidden] : [1, hidden], dtype, rand, 2));
  const beta = g.param("beta", random(bias1d ? [hidden] : [1, hidden], dtype, rand));
  const w2 = g.param("w2", random([hidden, classes], dtype, rand, 0.3));
  const b2 = g.param("b2", random([classes], dtype, rand));
  const targets = Int32Array.from({ length: n }, () => Math.floor(rand() * classes));
  const y = g.input("y", new Tensor(targets, [n]));
  const bn = b.batchNorm(b.linear(x, w1, b1), gain, beta).named("bn");
  const loss = b.crossEntropy(b.linear(b.tanh(bn), w2, b2), y).named("loss");
  return { graph: g, composites: [bn, loss] };
}

Deno.test("fused batchnorm and cross-entropy forwards give node-by-node bits at the lecture's sizes", () => {
  // 33 × 27 logits: an odd count in the kernels' memory; 300 classes: rows summed in sixteen
  // partial sums, node by node and fused alike.
  const sizes: [number, number, number][] = [
    [32, 200, 27],
    [32, 64, 27],
    [33, 64, 27],
    [33, 13, 5],
    [9, 30, 3],
    [4, 16, 300],
  ];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [n, hidden, classes] of sizes) {
      for (const bias1d of [false, true]) {
        const fast = net(dtype, n, hidden, classes, bias1d);
        const slow = net(dtype, n, hidden, classes, bias1d);
        slow.graph.detectAnomaly = true;
        const rand = seeded(7);
        for (let step = 0; step < 3; step++) {
          // New inputs and parameters each step, some of them negative zeros and large values.
          for (const label of ["x", "w1", "gain", "beta"]) {
            const value = random(fast.graph.node(label).shape, dtype, rand, 3);
            if (step === 1) value.data[0] = -0;
            fast.graph.node(label).value.data.set(value.data);
            slow.graph.node(label).value.data.set(value.data);
          }
          fast.graph.recompute();
          slow.graph.recompute();
          assertSameSaved(fast.composites, slow.composites, `${dtype} ${n}×${hidden}`);
        }
      }
    }
  }
});

Deno.test("row sums add each row in order, rounding as the output's dtype does", () => {
  const rand = seeded(11);
  for (const dtype of ["float32", "float64"] as const) {
    for (const [rows, width] of [[1, 1], [3, 5], [4, 27], [33, 27], [7, 200]]) {
      const x = random([rows, width], dtype, rand, 1e3);
      x.data[0] = -0;
      const got = Tensor.zeros([rows], dtype), want = Tensor.zeros([rows], dtype);
      for (let i = 0; i < rows; i++) {
        for (let k = 0; k < width; k++) want.data[i] += x.data[i * width + k];
      }
      rowSums(x.data, got.data, rows, width);
      for (let i = 0; i < rows; i++) {
        assert.ok(Object.is(got.data[i], want.data[i]), `${dtype} ${rows}×${width} row ${i}`);
      }
    }
  }
});

Deno.test("g·(1 − y²) rounds as PyTorch's (1.0 - h**2) * dh in float32, in double in float64, on every length", () => {
  const rand = seeded(12);
  for (const dtype of ["float32", "float64"] as const) {
    // Float32: the square, the difference and the product each rounded to float32.
    const r = dtype === "float32" ? Math.fround : (x: number) => x;
    for (const n of [1, 7, 255, 256, 257, 259, 263, 6400]) {
      const g = random([n], dtype, rand, 5), y = random([n], dtype, rand);
      g.data[0] = -0;
      const want = Tensor.zeros([n], dtype);
      for (let i = 0; i < n; i++) {
        want.data[i] = r(g.data[i] * r(1 - r(y.data[i] * y.data[i])));
      }
      const got = t.mulOneMinusSquare(g, y);
      for (let i = 0; i < n; i++) {
        assert.ok(Object.is(got.data[i], want.data[i]), `${dtype} n ${n} at ${i}`);
      }
    }
  }
});

Deno.test("the float32 finiteness check finds a NaN or an infinity wherever it is", () => {
  for (const n of [1, 3, 4, 15, 16, 17, 63, 64, 65, 256, 1001, 6400]) {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 7) * 1e37 - 3e38 * (i % 2);
    x[0] = 1e-45; // subnormals and the largest float32 are finite
    assert.equal(finiteF32(x), true, `n ${n}`);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of new Set([0, n >> 1, n - 1])) {
        const y = x.slice();
        y[at] = bad;
        assert.equal(finiteF32(y), false, `n ${n}: ${bad} at ${at}`);
      }
    }
  }
});

Deno.test("expand spreads g over the reduced axis as the plain loop does", () => {
  const rand = seeded(13);
  const cases: [Shape, number | null][] = [
    [[32, 64], 0],
    [[32, 27], 1],
    [[5, 7], 0],
    [[5, 7], 1],
    [[5, 7], null],
    [[2, 3, 4], 1],
    [[3, 9, 2], 1],
    [[1, 6], 0],
    [[7], 0],
  ];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [shape, axis] of cases) {
      for (const scale of [1, 1 / 3]) {
        const [outer, n, inner] = t.splitAt(shape, axis);
        const g = random([outer * inner], dtype, rand);
        const want = Tensor.zeros(shape, dtype);
        for (let i = 0; i < outer; i++) {
          for (let k = 0; k < n; k++) {
            for (let j = 0; j < inner; j++) {
              want.data[(i * n + k) * inner + j] = g.data[i * inner + j] * scale;
            }
          }
        }
        const got = t.expand(g, shape, axis, scale);
        for (let i = 0; i < want.size; i++) {
          assert.ok(Object.is(got.data[i], want.data[i]), `${dtype} ${shape} ${axis} at ${i}`);
        }
      }
    }
  }
});
