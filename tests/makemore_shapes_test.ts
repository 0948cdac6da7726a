/**
 * makemore's models (exercises/makemore/) in one graph of changing shapes, their sizes read off
 * idx on every run (`idx.size(0)`, the mask sliced by a live T): the RNN and the GRU built for a
 * batch of 32 run a last batch of 10, a whole split and 32 again; the Transformer, BoW, MLP and
 * Bigram sample one sequence of growing length in one graph; each as if built for that shape.
 * What stays fixed (the RNN's loop over T) is refused by name. `generate` keeps one graph where
 * the model follows and a graph per length where it cannot, with the samples of a graph per
 * length every time.
 */
import assert from "node:assert/strict";
import {
  add,
  embedding,
  expand,
  generate,
  Graph,
  NinjagradError,
  nn,
  type Node,
  seededRandom,
  Tensor,
} from "../mod.ts";
import { graphCount } from "../ops/generate.ts";
import { createModel, type MakemoreModel, type ModelType } from "../exercises/makemore/models.ts";
import { MAKEMORE } from "./fixtures/makemore_models.ts";
import { indices, rng, sameValues } from "./helpers.ts";

const T = MAKEMORE.blockSize, V = MAKEMORE.vocabSize;

/** Tokens (rows, T) and targets with makemore's −1 padding after a random length. */
function batch(random: () => number, rows: number) {
  const X = indices(random, [rows, T], V), Y = indices(random, [rows, T], V);
  for (let r = 0; r < rows; r++) {
    const len = 1 + Math.floor(random() * T);
    for (let t = len; t < T; t++) Y.data[r * T + t] = -1;
  }
  return { X, Y };
}

/** The model's loss graph (float64) built on X and Y. */
function lossGraph(model: MakemoreModel, X: Tensor, Y: Tensor) {
  const graph = new Graph({ dtype: "float64" });
  const idx = graph.input("idx", X), targets = graph.input("targets", Y);
  const [logits, loss] = model.forward(idx, targets) as [Node, Node];
  return { graph, logits, loss };
}

for (const type of ["rnn", "gru"] as const) {
  Deno.test(`makemore's ${type} built for 32 runs a batch of 10, a whole split and 32 again, as if built for each`, () => {
    const random = rng(`${type} batches`);
    const model = createModel(type, MAKEMORE, seededRandom(7));
    const first = batch(random, 32);
    const one = lossGraph(model, first.X, first.Y);
    for (const [i, rows] of [32, 10, 250, 32].entries()) {
      const { X, Y } = i === 0 ? first : batch(random, rows);
      one.graph.run({ idx: X, targets: Y });
      const fresh = lossGraph(model, X.clone(), Y.clone());
      assert.deepEqual(one.logits.shape, [rows, T, V]);
      assert.ok(sameValues(one.loss.value, fresh.loss.value), `loss at batch ${rows}`);
      if (rows === 10) {
        const got = one.graph.backward(one.loss), want = fresh.graph.backward(fresh.loss);
        for (const [name, p] of model.namedParameters(fresh.graph)) {
          assert.ok(sameValues(got.get(name), want.get(p)), `d${name} at batch 10`);
        }
      }
    }
  });
}

for (const type of ["transformer", "bow", "mlp", "bigram"] as const) {
  Deno.test(`makemore's ${type} samples one sequence of growing length T = 1 … ${T} in one graph, as if built for each T`, () => {
    const model = createModel(type, MAKEMORE, seededRandom(11));
    const tokens = [0];
    const graph = new Graph({ dtype: "float64" });
    const idx = graph.input("idx", Tensor.from([tokens], "int32"));
    const [logits] = model.forward(idx) as [Node];
    for (let t = 1; t <= T; t++) {
      const X = Tensor.from([tokens], "int32");
      graph.set(idx, X);
      const fresh = new Graph({ dtype: "float64" });
      const [want] = model.forward(fresh.input("idx", X.clone())) as [Node];
      assert.deepEqual(logits.shape, [1, t, V]);
      assert.ok(sameValues(logits.value, want.value), `logits at T = ${t}`);
      const last = [...logits.value.data.subarray((t - 1) * V)];
      tokens.push(last.indexOf(Math.max(...last))); // greedy: the next token
    }
    // The training batch, in the same graph: a batch of 32 at the full length.
    const { X } = batch(rng(`${type} back to 32`), 32);
    graph.set(idx, X);
    const fresh = new Graph({ dtype: "float64" });
    const [want] = model.forward(fresh.input("idx", X.clone())) as [Node];
    assert.ok(sameValues(logits.value, want.value), "logits at (32, 16)");
  });
}

Deno.test("the RNN's loop over T stays as built: another T is refused, naming the node that holds it", () => {
  const model = createModel("gru", MAKEMORE, seededRandom(3));
  const { X, Y } = batch(rng("loop"), 4);
  const { graph, loss } = lossGraph(model, X, Y);
  const before = loss.value.data[0];
  const shorter = Tensor.zeros([4, 10], "int32");
  assert.throws(() => graph.run({ idx: shorter, targets: shorter }), (e) => {
    assert.ok(e instanceof NinjagradError);
    assert.match(
      e.message,
      /^setting idx to \(4, 10\), targets to \(4, 10\): slice#\d+ \(slice\): slice \[10:11\] of axis 1 \(length 10\) of \(4, 10, 64\) is empty: keep at least one index; wte\.embedding is \(4, 10, 64\) now, \(4, 16, 64\) when built \(a bound written as a number stays as built: .*, so another length needs a graph of its own\); the graph keeps its previous values \(idx \(4, 16\), targets \(4, 16\)\)$/,
    );
    return true;
  });
  const longer = Tensor.zeros([4, 20], "int32");
  assert.throws(() => graph.run({ idx: longer, targets: longer }), (e) => {
    assert.ok(e instanceof NinjagradError);
    assert.match(
      e.message,
      /^setting idx to \(4, 20\), targets to \(4, 20\): .*\(4, 16, 27\) as built/,
    );
    return true;
  });
  assert.equal(loss.value.data[0], before);
  // Another batch of the built length runs.
  const six = batch(rng("loop 6"), 6);
  graph.run({ idx: six.X, targets: six.Y });
  assert.ok(sameValues(loss.value, lossGraph(model, six.X, six.Y).loss.value));
});

/**
 * makemore's generate as it was before graphs followed T: a fresh graph for every length (the
 * model seen through a new object each step, which generate has no graph for), one generator
 * drawing for every step.
 */
function graphPerLength(
  model: nn.Module,
  idx: Tensor,
  steps: number,
  seed: number,
  topK?: number,
) {
  const generator = seededRandom(seed);
  let out = idx;
  for (let i = 0; i < steps; i++) {
    out = generate(Object.create(model), out, 1, { generator, topK });
  }
  return out;
}

Deno.test("generate: one graph for every length where the model follows, a graph per length for the RNNs; the same samples", () => {
  for (const type of ["bigram", "mlp", "rnn", "gru", "bow", "transformer"] as ModelType[]) {
    const model = createModel(type, MAKEMORE, seededRandom(5));
    const start = Tensor.zeros([6, 1], "int32");
    const sampled = generate(model, start, T - 1, { seed: 9 });
    const topK = generate(model, start, T - 1, { seed: 10, topK: 3 });
    const perLength = ["rnn", "gru"].includes(type);
    assert.equal(graphCount(model), perLength ? T - 1 : 1, `${type}'s graphs`);
    assert.deepEqual([...sampled.data], [...graphPerLength(model, start, T - 1, 9).data], type);
    assert.deepEqual([...topK.data], [...graphPerLength(model, start, T - 1, 10, 3).data], type);
    // Another batch size reuses the model's graph where it follows.
    generate(model, Tensor.zeros([2, 1], "int32"), 3, { seed: 1 });
    assert.equal(graphCount(model), perLength ? T - 1 + 3 : 1, `${type}'s graphs after (2, 1)`);
  }
});

/** A bigram table plus a bias expanded to the batch read as a number: a graph per batch size. */
class FixedBatch extends nn.Module {
  table: nn.Parameter;
  constructor() {
    super();
    const t = Tensor.zeros([V, V], "float64"), random = seededRandom(2);
    for (let i = 0; i < t.size; i++) t.data[i] = 3 * random();
    this.table = new nn.Parameter(t);
  }
  forward(idx: Node): Node {
    const bias = idx.graph.constant(Tensor.zeros([1, 1, V]));
    return add(embedding(this.table.in(idx.graph), idx), expand(bias, [idx.shape[0], -1, -1]));
  }
}

Deno.test("generate: a graph that refuses a new shape (a batch read as a number) gets a graph of its own, the same samples", () => {
  const model = new FixedBatch();
  const six = generate(model, Tensor.zeros([6, 1], "int32"), 5, { seed: 3 });
  assert.equal(graphCount(model), 1, "T grows in the one graph");
  assert.deepEqual([...six.data], [
    ...graphPerLength(model, Tensor.zeros([6, 1], "int32"), 5, 3).data,
  ]);
  // A batch of 2: the first graph's add refuses (2, ·, 27) + (6, 1, 27) and keeps its values.
  const two = generate(model, Tensor.zeros([2, 1], "int32"), 5, { seed: 4 });
  assert.equal(graphCount(model), 1 + 5, "a graph per shape once the first refused one");
  assert.deepEqual([...two.data], [
    ...graphPerLength(model, Tensor.zeros([2, 1], "int32"), 5, 4).data,
  ]);
  assert.deepEqual([...generate(model, Tensor.zeros([6, 1], "int32"), 5, { seed: 3 }).data], [
    ...six.data,
  ]);
});
