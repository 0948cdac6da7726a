/**
 * ninja check judges each rule as the linear map it is: a flipped sign on a gradient that is zero
 * in truth (dlogit_maxes, db1) agrees with the engine on the true upstream gradient (both are
 * rounding noise) and is still reported wrong, from a random upstream gradient, with a note that
 * training does not feel it; zero in truth is the engine's probe, not a size.
 */
import assert from "node:assert/strict";
import { checkOn, prepareCheck } from "../exercises/ninja/check.ts";
import { EXERCISES } from "../exercises/ninja/exercises.ts";
import { ex1Rules } from "../exercises/rules/ex1.ts";
import { ex4Rules } from "../exercises/rules/ex4_lines.ts";
import { kernels as t, type Tensor } from "../mod.ts";

type Ctx = Record<string, Tensor>;

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`${dtype}: dlogit_maxes with its sign flipped is wrong, and harmless to training`, async () => {
    const rules = {
      ...ex1Rules,
      norm_logits: {
        ...ex1Rules.norm_logits,
        logit_maxes: ({ dnorm_logits }: Ctx) => t.sum(dnorm_logits, { axis: 1, keepdim: true }),
      },
    };
    const report = checkOn(await prepareCheck(1, { dtype }), rules);
    const v = report.nodes.find((x) => x.name === "logit_maxes")!;
    assert.equal(v.status, "wrong", v.detail);
    assert.equal(v.zeroInTruth, true);
    assert.equal(v.mistake, "sign", v.detail);
    assert.match(v.detail, /^its true gradient is zero \(subtracting each row's max/);
    assert.match(v.detail, /training does not feel this, but the rule is wrong/);
    assert.match(v.detail, /not on a random one/);
    assert.equal(report.firstWrong?.name, "logit_maxes");
    // Every other node is ok: the flip changes nothing they receive.
    assert.deepEqual(report.nodes.filter((x) => x.status !== "ok").map((x) => x.name), [
      "logit_maxes",
    ]);
  });

  Deno.test(`${dtype}: db1 with its sign flipped in exercise 4 is wrong, and harmless`, async () => {
    const rules = {
      ...ex4Rules,
      hprebn: {
        ...ex4Rules.hprebn,
        b1: ({ dhprebn }: Ctx) => t.neg(t.sum(dhprebn, { axis: 0, keepdim: false })),
      },
    };
    const report = checkOn(await prepareCheck(4, { dtype }), rules);
    const v = report.nodes.find((x) => x.name === "b1")!;
    assert.equal(v.status, "wrong", v.detail);
    assert.equal(v.mistake, "sign", v.detail);
    assert.match(v.detail, /batchnorm subtracts the batch mean.*training does not feel this/);
  });
}

Deno.test("the reference rules' zero-in-truth nodes are ok, and say how they were judged", async () => {
  const report = checkOn(await prepareCheck(1), EXERCISES[1].reference);
  const zero = report.nodes.filter((v) => v.zeroInTruth).map((v) => v.name);
  assert.deepEqual(zero, ["logit_maxes", "b1"]);
  for (const v of report.nodes) assert.equal(v.status, "ok", `${v.name}: ${v.detail}`);
});
