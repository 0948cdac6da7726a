/**
 * `deno bench -A tests/bench/` — the kernels of the exercise-4 step at its shapes (batch 32,
 * n_hidden 200, vocab 27), in both dtypes: float32 runs on WebAssembly SIMD, float64 in
 * JavaScript. Each group's baseline is the float32 case.
 */
import { type FloatDType, Tensor } from "../../ops/kernels/tensor.ts";
import * as t from "../../ops/kernels/mod.ts";
import { seeded } from "../../exercises/bench/workloads.ts";

const rand = seeded(1);
const random = (shape: number[], dtype: FloatDType, positive = false) => {
  const x = Tensor.zeros(shape, dtype);
  for (let i = 0; i < x.size; i++) x.data[i] = positive ? rand() + 1e-3 : rand() * 2 - 1;
  return x;
};

for (const dtype of ["float32", "float64"] as const) {
  const baseline = dtype === "float32";
  const embcat = random([32, 30], dtype), W1 = random([30, 200], dtype);
  const h = random([32, 200], dtype), W2 = random([200, 27], dtype);
  const dlogits = random([32, 27], dtype), bias = random([1, 200], dtype);
  const out200 = Tensor.zeros([32, 200], dtype), out27 = Tensor.zeros([32, 27], dtype);
  const dW1 = Tensor.zeros([30, 200], dtype), dW2 = Tensor.zeros([200, 27], dtype);
  const probs = random([32, 27], dtype, true), row = Tensor.zeros([1, 200], dtype);
  const rows32 = Tensor.zeros([32], dtype);
  const NN = { transA: false, transB: false }, NT = { transA: false, transB: true };
  const TN = { transA: true, transB: false };
  const cases: [string, string, () => void][] = [
    ["matmul", "embcat @ W1", () => t.matmul(embcat, W1, NN, out200)],
    ["matmul", "h @ W2", () => t.matmul(h, W2, NN, out27)],
    ["matmul", "dlogits @ W2ᵀ", () => t.matmul(dlogits, W2, NT, out200)],
    ["matmul", "hᵀ @ dlogits", () => t.matmul(h, dlogits, TN, dW2)],
    ["matmul", "embcatᵀ @ dhprebn", () => t.matmul(embcat, h, TN, dW1)],
    ["unary", "tanh (32, 200)", () => t.tanh(h, out200)],
    ["unary", "exp (32, 27)", () => t.exp(dlogits, out27)],
    ["unary", "log (32, 27)", () => t.log(probs, out27)],
    ["unary", "1 − h² (32, 200)", () => t.oneMinusSquare(h, out200)],
    ["unary", "g·(1 − h²) (32, 200)", () => t.mulOneMinusSquare(out200, h, out200)],
    ["broadcast", "(32, 200) + (1, 200)", () => t.add(h, bias, out200)],
    ["broadcast", "(32, 200) · (32, 200)", () => t.mul(h, out200, out200)],
    ["reduce", "sum over the batch (32, 200)", () => t.sum(h, { axis: 0, keepdim: true }, row)],
    ["reduce", "row sums (32, 27)", () => t.rowSums(probs.data, rows32.data, 32, 27)],
  ];
  for (const [group, name, fn] of cases) {
    Deno.bench({ name: `${name} ${dtype}`, group: `${group}: ${name}`, baseline, fn });
  }
}
