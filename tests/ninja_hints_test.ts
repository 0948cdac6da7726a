/**
 * The hints on their own: a gradient compared with the right one names the mistake between them
 * (the planted-mistake files test them inside the exercises; these cover what the lecture's
 * shapes cannot show, such as a square gradient transposed).
 */
import assert from "node:assert/strict";
import { factorName, matmulHint, shapeHint, valueHint } from "../exercises/ninja/hints.ts";
import { kernels as t, Tensor } from "../mod.ts";
import { rng, uniform } from "./helpers.ts";

const rand = rng("ninja-hints");
const right = uniform(rand, [4, 4]);
const ctx = { n: 32, what: "dW" };

Deno.test("constant factors are named by what they are, not by a guessed cause", () => {
  // ×31/32 is Bessel's correction only in a variance: elsewhere another mistake makes it, so the
  // factor alone is said; the catalogue (mutants.ts) names Bessel where it recomputes it.
  assert.equal(factorName(31 / 32, 32), "×(n − 1)/n (n = 32)");
  assert.equal(factorName(32 / 31, 32), "×n/(n − 1) (n = 32)");
  assert.match(factorName(-2, 32), /^the sign flipped and ×2$/);
  assert.equal(factorName(1.7, 32), "×1.70");
});

Deno.test("a square gradient transposed, the chain rule forgotten, and no pattern at all", () => {
  const flipped = valueHint(t.transpose2d(right), right, ctx);
  assert.equal(flipped?.kind, "transpose");
  const upstream = uniform(rand, [4, 4], 0.5, 2);
  const local = uniform(rand, [4, 4]);
  const alone = valueHint(local, t.mul(local, upstream), {
    ...ctx,
    upstream: { name: "dout", value: upstream },
  });
  assert.equal(
    alone?.text,
    "dW is the local derivative alone: multiply it by dout (the chain rule)",
  );
  assert.equal(valueHint(uniform(rand, [4, 4]), right, ctx), undefined);
});

Deno.test("a formula's terms: the one that is missing or off is named", () => {
  const a = uniform(rand, [4, 4]), b = uniform(rand, [4, 4]);
  const terms = [{ name: "the first term", value: a }, { name: "the second term", value: b }];
  const hint = valueHint(t.sub(a, b), t.add(a, b), { ...ctx, terms });
  assert.equal(hint?.text, "in dW, the second term has the wrong sign");
  assert.equal(
    valueHint(a, t.add(a, b), { ...ctx, terms })?.text,
    "in dW, the second term is missing",
  );
  // A fit with a coefficient other than 0 or −1 names nothing: 3/4·a is "the first term ×3/4, the
  // second missing" only on paper (in dhprebn, a missing .sum(0) fits as the direct part
  // ×(n − 1)/n), so no term is blamed.
  const c = uniform(rand, [4, 4]);
  const three = [...terms, { name: "the third term", value: c }];
  const all = t.add(t.add(a, b), c);
  assert.equal(valueHint(t.add(t.mul(0.75, a), c), all, { ...ctx, terms: three }), undefined);
  assert.equal(
    valueHint(t.add(a, c), all, { ...ctx, terms: three })?.text,
    "in dW, the second term is missing",
  );
});

Deno.test("a matmul that a transpose fixes: which operand, by name", () => {
  const values = {
    dhprebn: Tensor.zeros([32, 64], "float64"),
    hprebn: Tensor.zeros([32, 64], "float64"),
    W1: Tensor.zeros([30, 64], "float64"),
  };
  const error = "matmul: inner dimensions differ: (32, 64) @ (30, 64) (64 vs 30)";
  assert.match(
    matmulHint(error, [32, 30], values, "dhprebn")!.text,
    /^transpose the second operand, W1: dhprebn @ W1ᵀ has the gradient's shape \(32, 30\)/,
  );
  // dW1 = dhprebn @ embcat: the operands swapped and the first one transposed.
  const swapped = "matmul: inner dimensions differ: (32, 64) @ (32, 30) (64 vs 32)";
  assert.match(
    matmulHint(swapped, [30, 64], { ...values, embcat: Tensor.zeros([32, 30]) }, "dhprebn")!.text,
    /^swap the operands and transpose embcat: embcatᵀ @ dhprebn/,
  );
  assert.equal(matmulHint("shapes (2,) and (3,) do not broadcast", [2], values), undefined);
});

Deno.test("a wrong shape's fix is said only where, so fixed, the values are right", () => {
  const want = uniform(rand, [2, 3]);
  const same = (x: Tensor) => x.data.every((v, i) => Math.abs(v - want.data[i]) < 1e-12);
  const flat = new Tensor(want.data.slice(), [6]);
  assert.match(shapeHint(flat, [2, 3], same).text, /^the same 6 values in another shape: reshape/);
  const other = new Tensor(want.data.map((v) => v + 1), [6]);
  assert.match(
    shapeHint(other, [2, 3], same).text,
    /; reshaped to \(2, 3\), its values still differ from the engine's$/,
  );
  // Broadcast: summed over the batch it is right, or not.
  const rows = t.div(t.expand(want, [4, 2, 3], 0), 4);
  assert.match(shapeHint(rows, [2, 3], same).text, /^it was broadcast in the forward pass, so sum/);
  assert.match(
    shapeHint(t.mul(rows, 2), [2, 3], same).text,
    /; summed so, its values still differ/,
  );
  // Transposed: the right values, or only the transposed shape.
  assert.equal(shapeHint(t.transpose2d(want), [2, 3], same).kind, "transpose");
  assert.match(
    shapeHint(t.transpose2d(other.reshape([2, 3])), [2, 3], same).text,
    /^its shape is the transpose of \(2, 3\) .*; transposed, its values still differ/,
  );
  // No shape fix fits: only what a gradient must be.
  assert.deepEqual(shapeHint(uniform(rand, [5]), [2, 3], same), {
    kind: "reshape",
    text: "a gradient has exactly its input's shape, (2, 3)",
  });
});
