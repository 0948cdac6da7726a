/**
 * Randomized checks (fast-check): the engine's gradients of random graphs of random ops over
 * random broadcast shapes agree with finite differences; and compare names the input that a
 * wrong hand-written rule feeds: on the lecture's exercise 1, for every mistake (each built so
 * that it changes the gradient), and on random graphs, for exactly the mistakes that move a
 * gradient out of tolerance.
 *
 * The seed is fixed (printed when the file loads), so the default suite is the same every run;
 * NINJAGRAD_FC_SEED=random explores new cases, NINJAGRAD_FC_SEED=<seed> replays a run,
 * NINJAGRAD_FC_RUNS=<n> runs longer, NINJAGRAD_FC_PATH=<path> replays one counterexample (see
 * tests/property/seed.ts). A failure prints fast-check's seed, path and shrunk counterexample.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import seedrandom from "seedrandom";
import { formatComparison, gradcheck, type Graph, type Node, sameShape, Tensor } from "../mod.ts";
import { automaticRule } from "../graph/rules.ts";
import { buildEx1, EX1_ROWS, type Ex1Sizes } from "../exercises/model/ex1.ts";
import { EX1_RULE_REFS, installEx1Rules } from "../exercises/model/lines.ts";
import { initEx1Params, seededNormal } from "../exercises/params.ts";
import { ex1Rules } from "../exercises/rules/ex1.ts";
import { FC_SEED, fcParams } from "./property/seed.ts";
import {
  buildRandomGraph,
  describeGraph,
  graphRecipe,
  largestValue,
  smallestMaxGap,
} from "./property/random_graph.ts";
import { smallestKink } from "./property/torch_ops.ts";
import {
  applies,
  changesShape,
  corrupt,
  corruptedRules,
  type Corruption,
  CORRUPTIONS,
  type Returned,
  toleranceRatio,
  UNREDUCED_BINARY,
} from "./property/corruptions.ts";

console.log(
  `property tests: fast-check seed ${FC_SEED} (replay with NINJAGRAD_FC_SEED=${FC_SEED})`,
);

Deno.test("random graphs of random ops over broadcast shapes: backward agrees with finite differences", () => {
  fc.assert(
    fc.property(graphRecipe, (recipe) => {
      const { graph, out } = buildRandomGraph(recipe);
      // max has no derivative at a tie, and central differences straddle a near one.
      fc.pre(smallestMaxGap(graph) >= 1e-3);
      // relu, abs, clamp, maximum and minimum have kinks too; a layer norm of a near-constant
      // row divides by almost nothing.
      fc.pre(smallestKink(graph) >= 1e-3);
      // Central differences lose about 1e-16·|value|/eps to rounding: keep values where that is
      // far below the tolerance.
      fc.pre(largestValue(graph) <= 1e3);
      const random = seedrandom(`upstream ${recipe.valueSeed}`);
      const result = gradcheck(graph, out, { random: () => random() });
      assert.ok(
        result.maxError < 1e-5,
        `gradcheck maxError ${result.maxError}: ${JSON.stringify(result.rows)}\n${
          describeGraph(graph)
        }`,
      );
    }),
    fcParams(3000),
  );
});

/** Exercise 1's net, small: every size at least 2 (vocab 3), so a wrong shape always shows. */
const ex1Sizes: fc.Arbitrary<Ex1Sizes> = fc.record({
  batch: fc.integer({ min: 3, max: 6 }),
  vocab: fc.integer({ min: 3, max: 6 }),
  nEmbd: fc.integer({ min: 2, max: 4 }),
  blockSize: fc.integer({ min: 1, max: 3 }),
  nHidden: fc.integer({ min: 2, max: 6 }),
});

/**
 * The exercise-1 net in float64 with the lecture's init, and a minibatch drawn from `dataSeed`
 * with two fix-ups so that no gradient vanishes by symmetry:
 * - the first three examples have three different contexts. Batchnorm's output does not change
 *   when a column of hprebn is shifted or scaled, so what reaches W1 and C through it is
 *   orthogonal to both, and examples with one context act as one: with only two contexts in the
 *   batch nothing is left, dW1 and dC would be zero. (Hence batch ≥ 3 and vocab ≥ 3.)
 * - examples 0 and 1 share a target, so that dlogprobs is never a symmetric matrix (batch =
 *   vocab, targets an involution), which transposing would leave unchanged.
 */
function ex1Net(sizes: Ex1Sizes, paramSeed: number, dataSeed: number) {
  const params = initEx1Params(sizes, seededNormal(paramSeed));
  const rand = seedrandom(`minibatch ${dataSeed}`);
  const { batch, blockSize, vocab } = sizes;
  const Xb = Tensor.zeros([batch, blockSize], "int32");
  const Yb = Tensor.zeros([batch], "int32");
  for (let i = 0; i < Xb.size; i++) Xb.data[i] = Math.floor(rand() * vocab);
  for (let i = 0; i < Yb.size; i++) Yb.data[i] = Math.floor(rand() * vocab);
  for (let k = 1; k < 3; k++) Xb.data[k * blockSize] = (Xb.data[0] + k) % vocab;
  Yb.data[1] = Yb.data[0];
  return buildEx1(params, Xb, Yb, { dtype: "float64" });
}

Deno.test("a corrupted hand-written rule of exercise 1 is always caught at the node it feeds", () => {
  const cases = fc.record({
    sizes: ex1Sizes,
    paramSeed: fc.nat(),
    dataSeed: fc.nat(),
    corruption: fc.constantFrom(...CORRUPTIONS),
    rule: fc.nat({ max: EX1_RULE_REFS.length - 1 }),
  });
  fc.assert(
    fc.property(cases, ({ sizes, paramSeed, dataSeed, corruption, rule }) => {
      const model = ex1Net(sizes, paramSeed, dataSeed);
      const { graph, loss } = model;
      // The control: the correct rules agree with the engine's, bit for bit, on this net.
      const undo = installEx1Rules(model, ex1Rules);
      const control = graph.compare(loss, { labels: EX1_ROWS });
      const notExact = control.rows.filter((r) => !r.exact || !r.shapeMatch);
      assert.deepEqual(notExact.map((r) => r.name), [], formatComparison(control));
      undo();

      // By construction, a mistake that changes what its rule returns on this net.
      const candidates = EX1_RULE_REFS.filter((ref) => applies(corruption, ref, model));
      const ref = candidates[rule % candidates.length];
      const returned: Returned = {};
      installEx1Rules(model, corruptedRules(ref, corruption, returned));
      const cmp = graph.compare(loss, { labels: EX1_ROWS });
      const what = `${corruption} of the rule ${ref.line} → d${ref.input}\n${
        formatComparison(cmp)
      }`;

      // The construction's claim, checked: the input's gradient moves out of tolerance.
      const tolerance = cmp.rows.find((r) => r.name === ref.input)!.tolerance;
      const ratio = toleranceRatio(returned, tolerance);
      assert.ok(
        ratio > 10,
        `the construction made a mistake that changes little (${ratio}): ${what}`,
      );

      assert.equal(cmp.firstDivergent?.name, ref.input, what);
      const row = cmp.firstDivergent!;
      if (changesShape(corruption, ref, model)) {
        assert.ok(!row.shapeMatch && !row.approximate, what);
        assert.match(row.error ?? "", /returned shape/, what);
      } else {
        assert.ok(row.shapeMatch && !row.approximate && row.error === undefined, what);
      }
    }),
    fcParams(1000),
  );
});

/**
 * A rule of a random graph to corrupt with `kind`: the `pick`-th (cyclically) of the (node, input)
 * pairs it applies to. A forgotten sum needs a broadcast input of a binary op, a transpose a 2-D
 * gradient, and a shift or a transpose more than one element (else they are no-ops for sure);
 * where there is none, the sign is flipped instead.
 */
function ruleToCorrupt(graph: Graph, kind: Corruption, pick: number) {
  const rules = graph.nodes.flatMap((node) => {
    const op = node.op;
    if (!op) return [];
    return op.inputs.flatMap((input, i) => {
      const x = node.inputs[i];
      return x.requiresGrad && !op.nondiff.includes(input) ? [{ node, input, x }] : [];
    });
  });
  const fits = ({ node, x }: { node: Node; x: Node }) =>
    kind === "missingSum"
      ? node.op!.name in UNREDUCED_BINARY && !sameShape(x.shape, node.shape)
      : kind === "transpose"
      ? x.shape.length === 2 && x.value.size > 1
      : kind === "shift"
      ? x.value.size > 1
      : true;
  const candidates = rules.filter(fits);
  if (candidates.length === 0) return { ...rules[pick % rules.length], kind: "negate" as const };
  return { ...candidates[pick % candidates.length], kind };
}

Deno.test("on random graphs, compare flags a corrupted rule exactly when it moves a gradient out of tolerance", () => {
  const cases = fc.record({
    recipe: graphRecipe,
    corruption: fc.constantFrom(...CORRUPTIONS),
    pick: fc.nat({ max: 63 }),
  });
  fc.assert(
    fc.property(cases, ({ recipe, corruption, pick }) => {
      const { graph, out } = buildRandomGraph(recipe);
      for (const n of graph.nodes) if (n.op && n.label === undefined) n.named(`n${n.id}`);
      const { node, input, x, kind } = ruleToCorrupt(graph, corruption, pick);
      const automatic = automaticRule(node, input);
      const returned: Returned = {};
      graph.override(node, {
        [input]: (args) => {
          const c = automatic(args);
          const bad = kind === "missingSum"
            ? UNREDUCED_BINARY[node.op!.name][input](args)
            : corrupt(kind, c);
          returned.correct = c;
          returned.corrupted = bad;
          return bad;
        },
      });
      const cmp = graph.compare(out);
      const what = `${kind} of the rule ${node.name} → d${x.name}\n${formatComparison(cmp)}\n${
        describeGraph(graph)
      }`;
      // Nothing after the input in backward order depends on the corrupted rule.
      for (const row of cmp.rows) if (row.node.id > x.id) assert.ok(row.exact, what);

      const row = cmp.rows.find((r) => r.node === x)!;
      const ratio = toleranceRatio(returned, row.tolerance);
      if (ratio === Infinity) {
        assert.equal(cmp.firstDivergent?.name, x.name, what);
        assert.ok(!row.shapeMatch && /returned shape/.test(row.error ?? ""), what);
      } else if (ratio > 10) {
        assert.equal(cmp.firstDivergent?.name, x.name, what);
        assert.ok(row.shapeMatch && !row.approximate && row.error === undefined, what);
      } else if (ratio < 0.1) {
        // A mistake that changes nothing on the true gradient (a zero gradient negated, a
        // symmetric one transposed) raises no alarm there; a random upstream gradient (a probe)
        // may still show it, and then blames the corrupted rule.
        assert.ok(row.shapeMatch && (row.approximate || row.probe?.blame.node === node), what);
      } // In between (about 1 in 5,000 cases), rounding decides; there is nothing to assert.
    }),
    fcParams(3000),
  );
});
