/**
 * The catalogue of wrong formulas (`exercises/ninja/mutants.ts`): every mutant of every rule,
 * returned by a learner's rule, is named by `ninja check` at its own node as itself and as nothing
 * else; on the values the rules receive, in float32, float64 and on another seed's net, each is
 * named as itself, also rounded another way, while a result near a mutant but not it (off by
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

/** Whose formulas exercise 4 shares with exercises 2 and 3 (checked there, and by its files). */
const SHARED = new Set(["loss.logits", "hpreact.hprebn"]);

for (const n of [1, 2, 3, 4] as const) {
  Deno.test(`exercise ${n}: every mutant is named as itself at its node, by the check`, async () => {
    const s = await session(n, "float32");
    const seen: string[] = [];
    for (const [line, input] of cataloguedRules(n)) {
      const key = `${line}.${input}`;
      if (n === 4 && SHARED.has(key)) continue;
      for (const m of MUTANTS[key]) {
        const id = `${key}/${m.id}`;
        const report = checkOn(s, withRule(n, line, input, m.compute));
        const node = report.nodes.find((v) => v.name === input)!;
        // Even a mutant equal to the reference here (a dlogits without dloss, where dloss is 1) or
        // on a gradient that is zero in truth (dlogit_maxes) is seen: the check also feeds every
        // rule random upstream gradients.
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
    assert.ok(seen.length > 0);
  });
}

/**
 * What each rule of exercise `n` receives on the check's minibatch (its first call: the true
 * upstream gradient), by `line.input`, from one check of the reference rules.
 */
async function valuesOf(
  n: ExerciseNumber,
  dtype: FloatDType,
  seed?: number,
): Promise<Map<string, Values>> {
  const got = new Map<string, Values>();
  const reference = EXERCISES[n].reference as Record<string, Record<string, Rule>>;
  const recording = Object.fromEntries(
    Object.entries(reference).map(([line, rules]) => [
      line,
      Object.fromEntries(
        Object.entries(rules).map(([input, rule]) => [input, (v: Values) => {
          if (!got.has(`${line}.${input}`)) got.set(`${line}.${input}`, v);
          return rule(v);
        }]),
      ),
    ]),
  );
  checkOn(await session(n, dtype, seed), recording);
  return got;
}

/** The catalogue's verdict on `mine` as rule `line.input`'s result on values `v`. */
function nameOf(n: ExerciseNumber, key: string, mine: Tensor, v: Values, dtype: FloatDType) {
  const [line, input] = key.split(".");
  const reference = (EXERCISES[n].reference as Record<string, Record<string, Rule>>)[line][input];
  return mutantHint(mine, reference(v), v, { key, what: `d${input}`, dtype, n: v.n as number })
    ?.mutant;
}

/** Equal to the reference where dloss is 1: the check tells them apart on its random probes. */
const SAME_HERE = new Set(["loss.logits/no-dloss"]);

const SETUPS = [
  { dtype: "float32", seed: undefined },
  { dtype: "float64", seed: undefined },
  { dtype: "float32", seed: 5 }, // another minibatch and another net
] as const;

for (const n of [1, 2, 3, 4] as const) {
  Deno.test(`exercise ${n}: the catalogue on its own, in float32, float64 and another seed`, async () => {
    for (const { dtype, seed } of SETUPS) {
      const values = await valuesOf(n, dtype, seed);
      const at = `${dtype}${seed === undefined ? "" : `, seed ${seed}`}`;
      for (const [line, input] of cataloguedRules(n)) {
        const key = `${line}.${input}`, v = values.get(key)!;
        for (const m of MUTANTS[key]) {
          const id = `${key}/${m.id}`;
          const want = SAME_HERE.has(id) ? undefined : m.id;
          assert.equal(nameOf(n, key, m.compute(v), v, dtype), want, `${id} (${at})`);
          if (dtype !== "float32") continue;
          // A learner's formula rounds in its own order; the mutant computed in float64 and
          // rounded once to float32 differs from the catalogue's as much as any order does.
          const rounded = asFloat32(m.compute(wide(v)));
          assert.equal(nameOf(n, key, rounded, v, dtype), want, `${id} rounded (${at})`);
          // 0.1% off a mutant: that mistake and another on top, which the catalogue must not
          // claim (a factor hint may still say ×1.001 of something).
          const near = t.mul(m.compute(v), 1.001);
          assert.equal(nameOf(n, key, near, v, dtype), undefined, `${id} ×1.001 (${at})`);
        }
        // The reference with noise of 2% of its largest entry: no mutant.
        const [l, i] = [line, input];
        const r = (EXERCISES[n].reference as Record<string, Record<string, Rule>>)[l][i](v);
        let big = 0, seedNoise = 7;
        for (let k = 0; k < r.size; k++) big = Math.max(big, Math.abs(r.data[k]));
        const noisy = r.clone();
        for (let k = 0; k < noisy.size; k++) {
          seedNoise = (seedNoise * 16807) % 2147483647;
          noisy.data[k] += 0.02 * big * (seedNoise / 2147483647 - 0.5);
        }
        assert.equal(nameOf(n, key, noisy, v, dtype), undefined, `${key} with noise (${at})`);
      }
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
