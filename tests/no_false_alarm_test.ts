/**
 * No false alarm: the engine's own hand-written rules (exercises 1–4) are judged ok at every
 * node, named or not, in float32 and float64, for several seeds and sizes, by `deno task exercise
 * N` (setupExercise's verdict), by `deno task chart exercise N` (exerciseCharts' verdicts) and by
 * `ninja check` of the reference rules (probes and second minibatch included) alike; and the same
 * rules with a factor, a sign or a transpose wrong are flagged.
 */
import assert from "node:assert/strict";
import { formatComparison } from "../graph/compare.ts";
import { exerciseCharts } from "../exercises/cli/chart.ts";
import { setupExercise } from "../exercises/setup.ts";
import { checkOn, prepareCheck } from "../exercises/ninja/check.ts";
import { EXERCISES } from "../exercises/ninja/exercises.ts";
import { verdictsFromComparison } from "../viz/verdicts.ts";
import { kernels as t, type Rule, Tensor } from "../mod.ts";

const SIZES = [{}, { batch: 8, nHidden: 16 }, { batch: 100, nHidden: 48, nEmbd: 6 }];

for (const n of [1, 2, 3, 4] as const) {
  Deno.test(`exercise ${n}: the engine's rules agree at every node, any dtype, seed and size`, async () => {
    for (const dtype of ["float32", "float64"] as const) {
      for (const seed of [1, 7, 2024]) {
        for (const sizes of SIZES) {
          const s = await setupExercise(n, { dtype, seed, sizes });
          const what = `exercise ${n} ${dtype} seed ${seed} ${JSON.stringify(sizes)}\n`;
          assert.ok(s.passed, what + formatComparison(s.everyNode));
          const v = verdictsFromComparison(s.everyNode);
          assert.equal(v.firstDivergent, undefined, what + formatComparison(s.everyNode));
          assert.ok(Object.values(v.nodes).every((x) => x.status !== "differs"), what);
          // Every node with a gradient, named or not, is compared.
          assert.equal(s.everyNode.rows.length, s.grads.nodes().length - 1, what);
          // ninja check of the reference rules: every rule ok, on both minibatches.
          const report = checkOn(
            await prepareCheck(n, { dtype, seed, sizes }),
            EXERCISES[n].reference,
          );
          const notOk = report.nodes.filter((v) => v.status !== "ok");
          assert.deepEqual(notOk.map((v) => `${v.name}: ${v.detail}`), [], what);
        }
      }
    }
  });
}

Deno.test("deno task chart exercise 2 (float32, the reference rules) rings nothing", async () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const n of [1, 2, 3, 4] as const) {
      const { facts } = await exerciseCharts(n, { dtype });
      const verdicts = facts.find((f) => f.label === "verdicts")!.value;
      assert.doesNotMatch(verdicts, /differs/, `exercise ${n} ${dtype}: ${verdicts}`);
    }
  }
});

/** A rule that returns `f` of the reference's result. */
function spoilt(rule: Rule, f: (x: Tensor) => Tensor): Rule {
  return (args) => f(rule(args) as Tensor);
}

Deno.test("a factor, a sign or a transpose wrong in a one-step rule is always flagged", async () => {
  const mistakes: Record<string, (x: Tensor) => Tensor> = {
    "factor n/(n−1)": (x) => t.mul(x, 32 / 31),
    "sign": (x) => t.neg(x),
    "factor 1/2": (x) => t.mul(x, 0.5),
  };
  for (const dtype of ["float32", "float64"] as const) {
    for (const n of [2, 3] as const) {
      const node = n === 2 ? "loss" : "hpreact";
      const input = n === 2 ? "logits" : "x";
      for (const [name, f] of Object.entries(mistakes)) {
        const s = await setupExercise(n, { dtype, seed: 3 });
        const rules = s.graph.node(node).override!;
        s.graph.override(node, { ...rules, [input]: spoilt(rules[input] as Rule, f) });
        const cmp = s.graph.compare(s.lossNode);
        assert.ok(
          cmp.firstDivergent,
          `${name} in exercise ${n} ${dtype}: ${formatComparison(cmp)}`,
        );
        assert.deepEqual(cmp.blame.map((b) => b.name), [node]);
      }
    }
  }
  // A transpose: W2's gradient transposed, on a net where W2 is square so the shape fits.
  const s = await setupExercise(1, { dtype: "float32", sizes: { nHidden: 27 } });
  const w2 = s.graph.node("W2");
  assert.equal(w2.shape[0], w2.shape[1]);
  const matmulNode = s.graph.nodes.find((x) => x.op?.name === "matmul" && x.inputs[1] === w2)!;
  const rules = matmulNode.override!;
  s.graph.override(matmulNode, { ...rules, b: spoilt(rules.b as Rule, (x) => t.transpose2d(x)) });
  const cmp = s.graph.compare(s.lossNode);
  assert.equal(cmp.firstDivergent?.name, "W2", formatComparison(cmp));
});
