/** Small helpers for the engine tests: seeded random tensors, float64 graphs, gradient checks. */
import assert from "node:assert/strict";
import seedrandom from "seedrandom";
import { gradcheck, type Graph, type NodeRef, type Shape, Tensor } from "../mod.ts";
import { sizeOf } from "../graph/tensor.ts";

/** A reproducible random source in [0, 1): a failing test fails the same way every run. */
export function rng(seed: string): () => number {
  const r = seedrandom(seed);
  return () => r();
}

/** A float64 tensor of uniform values in [lo, hi). */
export function uniform(rand: () => number, shape: Shape, lo = -1, hi = 1): Tensor {
  const t = Tensor.zeros(shape, "float64");
  for (let i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * rand();
  return t;
}

/** An int32 index tensor of values in [0, n). */
export function indices(rand: () => number, shape: Shape, n: number): Tensor {
  const t = Tensor.zeros(shape, "int32");
  for (let i = 0; i < sizeOf(shape); i++) t.data[i] = Math.floor(rand() * n);
  return t;
}

/**
 * Finite differences against backward, with a random non-unit upstream gradient drawn from
 * `rand`; asserts the largest error is below 1e-6 and names the leaf that failed.
 */
export function assertGradcheck(graph: Graph, out: NodeRef, rand: () => number): void {
  const res = gradcheck(graph, out, { random: rand });
  assert.ok(res.rows.length > 0, "gradcheck checked no leaf");
  const worst = res.rows.reduce((a, b) => (b.maxError > a.maxError ? b : a));
  assert.ok(
    res.maxError < 1e-6,
    `gradcheck of ${graph.node(out).name}: ${worst.name} is off by ${worst.maxError}`,
  );
}

/** Asserts a tensor agrees elementwise with `want` within `tol`. */
export function assertClose(got: Tensor | undefined, want: readonly number[], tol = 1e-12): void {
  assert.ok(got, "no tensor");
  assert.equal(got.size, want.length, `size ${got.size}, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got.data[i] - want[i]) <= tol;
    assert.ok(ok, `element ${i}: got ${got.data[i]}, want ${want[i]}`);
  }
}

/** The values of a tensor as a plain array (for deepEqual). */
export function values(t: Tensor | undefined): number[] {
  assert.ok(t, "no tensor");
  return [...t.data];
}

/** Whether two tensors hold the same elements (cheap, unlike deepEqual's diff of a failure). */
export function sameValues(a: Tensor | undefined, b: Tensor | undefined): boolean {
  assert.ok(a && b, "no tensor");
  return a.size === b.size && a.data.every((v, i) => v === b.data[i]);
}
