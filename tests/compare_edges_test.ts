/**
 * The edges of `cmp`: by default "approximate" follows from the arithmetic (a few roundings of
 * the automatic gradient), so one ulp is approximate and 1e-12 in float64 is not; with rtol/atol
 * given it is the lecture's allclose, |mine − auto| ≤ atol + rtol·|auto|, so a difference at the
 * bound is approximate and one just above it is not; "exact" is bit for bit, so one ulp is not;
 * a NaN is neither. Each case is a hand-written rule that returns the automatic gradient plus a
 * chosen offset, on values where the offset is exact in float64.
 */
import assert from "node:assert/strict";
import { formatComparison, Graph, mul, sum, Tensor } from "../mod.ts";

/**
 * y = 2x, loss = Σ y·w with w = 0.5: x's automatic gradient is exactly 1 everywhere. y's rule is
 * replaced by one that returns 2·g plus `offset` (so x's hand-written gradient is 1 + offset).
 */
function offsetBy(offset: number, tolerances: { rtol?: number; atol?: number } = {}) {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([0.25, -1.5, 3], "float64"));
  const w = g.param("w", Tensor.from([0.5, 0.5, 0.5], "float64"));
  const y = mul(x, 2).named("y");
  const loss = sum(mul(y, w)).named("loss");
  g.override(y, {
    a: ({ g: up }) => {
      const out = Tensor.zeros(up.shape, "float64");
      for (let i = 0; i < up.size; i++) out.data[i] = 2 * up.data[i] + offset;
      return out;
    },
  });
  // 2·g + offset is affine, not linear, in g: random upstream gradients (probes) would rightly
  // flag any offset; these cases are about the bound on the true gradient, so they go without.
  const cmp = g.compare(loss, { ...tolerances, probes: 0 });
  const row = cmp.rows.find((r) => r.name === "x")!;
  // Primitive fields only: a failed assert renders its values, and a row holds the whole graph.
  return {
    exact: row.exact,
    approximate: row.approximate,
    maxdiff: row.maxdiff,
    first: cmp.firstDivergent?.name,
    rtol: cmp.rtol,
    atol: cmp.atol,
    judged: cmp.judged,
    relerr: row.relerr,
    table: formatComparison(cmp),
  };
}

Deno.test("a difference of exactly atol + rtol·|auto| is approximate; one just above is not", () => {
  // Powers of two: 1 + 2^-10 + 2^-20 is exact in float64, and so is the bound itself.
  const tol = { rtol: 2 ** -10, atol: 2 ** -20 };
  const bound = tol.atol + tol.rtol * 1;
  const at = offsetBy(bound, tol);
  assert.equal(at.maxdiff, bound);
  assert.equal(at.approximate, true, at.table);
  assert.equal(at.exact, false);
  assert.equal(at.first, undefined);
  const above = offsetBy(bound + 2 ** -40, tol);
  assert.equal(above.approximate, false, above.table);
  assert.equal(above.first, "x");
});

Deno.test("by default the arithmetic decides: 1e-13 off a gradient of 1 is not approximate in float64", () => {
  const within = offsetBy(2 ** -50); // four ulps of 1
  assert.equal(within.judged, "rounding");
  assert.equal(within.rtol, undefined);
  assert.equal(within.approximate, true, within.table);
  const outside = offsetBy(1e-13);
  assert.equal(outside.approximate, false, outside.table);
  assert.equal(outside.first, "x");
  assert.equal(outside.relerr, outside.maxdiff); // the automatic gradient's largest entry is 1
  // allclose's defaults (rtol 1e-5) would let 1e-6 through: the arithmetic does not.
  assert.equal(offsetBy(1e-6).approximate, false);
  assert.equal(offsetBy(1e-6, { rtol: 1e-5 }).approximate, true);
});

Deno.test("one ulp off in float64 is approximate but not exact", () => {
  const ulp = offsetBy(2 ** -52); // 1 + 2^-52 is the double after 1
  assert.equal(ulp.maxdiff, 2 ** -52);
  assert.equal(ulp.exact, false, ulp.table);
  assert.equal(ulp.approximate, true);
  const same = offsetBy(0);
  assert.equal(same.exact, true);
  assert.equal(same.maxdiff, 0);
});

Deno.test("a NaN is neither exact nor approximate, and is named as the divergent node", () => {
  const nan = offsetBy(NaN);
  assert.equal(nan.exact, false);
  assert.equal(nan.approximate, false);
  assert.equal(nan.first, "x");
  assert.match(nan.table, /^x +\| exact: False \| approximate: False \|/m);
});
