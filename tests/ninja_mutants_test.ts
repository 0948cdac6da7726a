/**
 * The catalogue of wrong formulas (`exercises/ninja/mutants.ts`) run through `ninja check`
 * itself: every mutant of every rule, returned by a learner's rule, is named at its own node as
 * itself and as nothing else, in float32 and float64; a result near a mutant but not it (off by
 * 0.1%), or off the reference by noise, is named as no mutant. The planted-mistake files
 * (`ninja_mistakes_test.ts`) check the same with the formulas written as a learner writes them.
 */
import assert from "node:assert/strict";
import { checkOn, type CheckSession, prepareCheck } from "../exercises/ninja/check.ts";
import { type ExerciseNumber, EXERCISES } from "../exercises/ninja/exercises.ts";
import { mutantHint, MUTANTS, type Values } from "../exercises/ninja/mutants.ts";
import { kernels as t, Tensor } from "../mod.ts";
import type { FloatDType } from "../ops/kernels/tensor.ts";

const sessions = new Map<string, Promise<CheckSession>>();
function session(n: ExerciseNumber, dtype: FloatDType, seed?: number): Promise<CheckSession> {
  const key = `${n}/${dtype}/${seed}`;
  if (!sessions.has(key)) sessions.set(key, prepareCheck(n, { dtype, seed }));
  return sessions.get(key)!;
}

type Rule = (ctx: Values) => Tensor;

/** The reference rules with rule `line.input` replaced. */
function withRule(n: ExerciseNumber, line: string, input: string, rule: Rule): object {
  const reference = EXERCISES[n].reference as Record<string, Record<string, Rule>>;
  return { ...reference, [line]: { ...reference[line], [input]: rule } };
}

/** The values with every float32 tensor as float64. */
function wide(v: Values): Values {
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      x instanceof Tensor && x.dtype === "float32"
        ? new Tensor(Float64Array.from(x.data), x.shape)
        : x,
    ]),
  );
}

function asFloat32(x: Tensor): Tensor {
  return new Tensor(Float32Array.from(x.data), x.shape);
}

/** The rules of exercise `n` that the catalogue has mutants for. */
function cataloguedRules(n: ExerciseNumber): [string, string][] {
  return Object.entries(EXERCISES[n].lines).flatMap(([line, { inputs }]) =>
    inputs.filter((input) => MUTANTS[`${line}.${input}`]).map((input): [string, string] => [
      line,
      input,
    ])
  );
}

/**
 * Mutants that equal the reference on the check's minibatch, so no check can see them there.
 * None: a dlogits without dloss is right where dloss is 1, but the check also feeds every rule
 * random upstream gradients, where it is not.
 */
const INVISIBLE = new Set<string>();

/**
 * Mutants of a rule whose upstream gradient is zero in truth (dlogit_maxes is rounding noise):
 * the check may judge them ok against that noise; if it judges them wrong (with random upstream
 * gradients), it must name them.
 */
const ON_NOISE = new Set(["logit_maxes.logits/target-for-argmax"]);

for (const n of [1, 2, 3, 4] as const) {
  const setups = [
    { dtype: "float32", seed: undefined },
    { dtype: "float64", seed: undefined },
    { dtype: "float32", seed: 5 }, // another minibatch and another net
  ] as const;
  for (const { dtype, seed } of setups) {
    const what = `${dtype}${seed === undefined ? "" : `, seed ${seed}`}`;
    Deno.test(`exercise ${n}, ${what}: every mutant is named as itself at its node`, async () => {
      const s = await session(n, dtype, seed);
      const seen: string[] = [];
      for (const [line, input] of cataloguedRules(n)) {
        const key = `${line}.${input}`;
        for (const m of MUTANTS[key]) {
          const id = `${key}/${m.id}`;
          const report = checkOn(s, withRule(n, line, input, m.compute));
          const node = report.nodes.find((v) => v.name === input)!;
          if (INVISIBLE.has(id) || (ON_NOISE.has(id) && node.status === "ok")) {
            assert.equal(node.status, "ok", `${id}: ${node.detail}`);
            continue;
          }
          assert.equal(node.status, "wrong", `${id}: ${node.detail}`);
          assert.equal(node.mutant, m.id, `${id}: ${node.detail}`);
          // A node whose gradient is zero in truth says so first, unless the shape is wrong.
          assert.ok(
            node.mistake === m.kind || (node.zeroInTruth && node.mistake === "zero in truth"),
            `${id}: ${node.mistake}`,
          );
          assert.equal(report.firstWrong, node, id);
          seen.push(id);
        }
      }
      assert.ok(seen.length > 0 || cataloguedRules(n).length === 0);
    });
  }

  Deno.test(`exercise ${n}, float32: a mutant rounded another way is still named`, async () => {
    // A learner's formula rounds in its own order; computing the mutant in float64 and rounding
    // once to float32 differs from the float32 catalogue by as much as any order does.
    const s = await session(n, "float32");
    for (const [line, input] of cataloguedRules(n)) {
      const key = `${line}.${input}`;
      for (const m of MUTANTS[key]) {
        const id = `${key}/${m.id}`;
        const report = checkOn(s, withRule(n, line, input, (v) => asFloat32(m.compute(wide(v)))));
        const node = report.nodes.find((v) => v.name === input)!;
        if (node.status === "ok") assert.ok(INVISIBLE.has(id) || ON_NOISE.has(id), id);
        else assert.equal(node.mutant, m.id, `${id}: ${node.detail}`);
      }
    }
  });

  Deno.test(`exercise ${n}: near a mutant, or off by noise, is no mutant`, async () => {
    const s = await session(n, "float32");
    for (const [line, input] of cataloguedRules(n)) {
      const key = `${line}.${input}`;
      const reference = (EXERCISES[n].reference as Record<string, Record<string, Rule>>)[line][
        input
      ];
      // A mutant 0.1% off: the same mistake and another one on top; the catalogue must not
      // claim it (a factor hint may still say ×1.001 of something, never a mutant).
      for (const m of MUTANTS[key]) {
        const report = checkOn(s, withRule(n, line, input, (v) => t.mul(m.compute(v), 1.001)));
        const node = report.nodes.find((v) => v.name === input)!;
        assert.equal(node.mutant, undefined, `${key}/${m.id} ×1.001: ${node.detail}`);
      }
      // Noise on a reference that is itself rounding noise (db1; logit_maxes' part of dlogits)
      // is no mistake the check can see.
      if (EXERCISES[n].zeroInTruth[input] || key === "logit_maxes.logits") continue;
      // The reference with noise of 1% of its largest entry: wrong, and no mutant.
      let seed = 7;
      const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
      const report = checkOn(
        s,
        withRule(n, line, input, (v) => {
          const r = reference(v);
          let big = 0;
          for (let i = 0; i < r.size; i++) big = Math.max(big, Math.abs(r.data[i]));
          const out = r.clone();
          for (let i = 0; i < out.size; i++) out.data[i] += 0.02 * big * noise();
          return out;
        }),
      );
      const node = report.nodes.find((v) => v.name === input)!;
      assert.equal(node.status, "wrong", key);
      assert.equal(node.mutant, undefined, `${key} with noise: ${node.detail}`);
    }
  });
}

Deno.test("the reference rules get no mutant anywhere, in float32 and float64", async () => {
  for (const n of [1, 2, 3, 4] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      const report = checkOn(await session(n, dtype), EXERCISES[n].reference);
      const named = report.nodes.filter((v) => v.status !== "ok" || v.mutant !== undefined);
      assert.deepEqual(named.map((v) => `${v.name}: ${v.detail}`), [], `exercise ${n} ${dtype}`);
    }
  }
});

Deno.test("a mutant that reads a value the rule does not receive is skipped, not thrown", () => {
  const g = t.add(Tensor.zeros([4, 3], "float64"), 1);
  const values = { g, dhpreact: g, n: 4 }; // no bngain, bnraw, …: every batchnorm mutant throws
  const ctx = { key: "hpreact.hprebn", what: "dhprebn", dtype: "float64" as const, n: 4 };
  assert.equal(mutantHint(t.mul(g, 2), g, values, ctx), undefined);
  // …while the generic mutants still work: the reference summed over the batch.
  const summed = mutantHint(t.sum(g, { axis: 0, keepdim: false }), g, values, ctx);
  assert.equal(summed?.mutant, "summed-axis-0");
});
