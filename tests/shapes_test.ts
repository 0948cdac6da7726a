/**
 * Graphs whose shapes can change: one graph, built once, runs a smaller last batch, a whole
 * split and one sequence of growing length, each giving the values and gradients of a graph
 * built afresh for that shape; only the nodes whose shapes changed get new buffers; a shape that
 * does not fit names the node, its op and the shapes now and when built, and changes nothing.
 */
import assert from "node:assert/strict";
import {
  batchNorm,
  concat,
  crossEntropy,
  embedding,
  expand,
  Graph,
  linear,
  matmul,
  mean,
  mul,
  NinjagradError,
  nn,
  type Node,
  optim,
  permute,
  reshape,
  reshapeLike,
  slice,
  softmax,
  sum,
  tanh,
  Tensor,
  transpose,
} from "../mod.ts";
import { assertGradcheck, indices, rng, sameValues, uniform } from "./helpers.ts";
import { transformerGraph } from "./fixtures/makemore_models.ts";

const VOCAB = 27, BLOCK = 4, EMBD = 8, HIDDEN = 16;

/** The lecture's MLP: embedding, view (B, block · embd), batchnorm, tanh, linear, loss. */
function mlp(X: Tensor, Y: Tensor, w: Record<string, Tensor>) {
  const g = new Graph({ dtype: "float64" });
  const p = (name: string) => g.param(name, w[name]);
  const Xb = g.input("Xb", X), Yb = g.input("Yb", Y);
  const emb = embedding(p("C"), Xb).named("emb");
  // makemore writes emb.view(emb.shape[0], -1): B taken from the input follows it.
  const embcat = reshape(emb, [emb.shape[0], -1]).named("embcat");
  const hpreact = batchNorm(matmul(embcat, p("W1")), p("bngain"), p("bnbias")).named("hpreact");
  const h = tanh(hpreact).named("h");
  const logits = linear(h, p("W2"), p("b2")).named("logits");
  const hsum = sum(h, 0).named("hsum"); // (HIDDEN,) whatever the batch
  const loss = crossEntropy(logits, Yb).named("loss");
  return { g, Xb, Yb, emb, embcat, logits, hsum, loss };
}

function weights(r: () => number): Record<string, Tensor> {
  return {
    C: uniform(r, [VOCAB, EMBD]),
    W1: uniform(r, [BLOCK * EMBD, HIDDEN], -0.3, 0.3),
    bngain: uniform(r, [HIDDEN], 0.5, 1.5),
    bnbias: uniform(r, [HIDDEN], -0.1, 0.1),
    W2: uniform(r, [HIDDEN, VOCAB], -0.3, 0.3),
    b2: uniform(r, [VOCAB], -0.1, 0.1),
  };
}

/** Copies of the weights, for a graph built afresh. */
const copies = (w: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(w).map(([k, t]) => [k, t.clone()]));

/** Asserts the loss and every parameter's gradient equal those of `mlp` built for X, Y. */
function assertAsBuiltFor(
  m: ReturnType<typeof mlp>,
  X: Tensor,
  Y: Tensor,
  w: Record<string, Tensor>,
) {
  const want = mlp(X, Y, copies(w));
  assert.deepEqual(m.logits.shape, want.logits.shape);
  assert.ok(sameValues(m.loss.value, want.loss.value), `loss at batch ${X.shape[0]}`);
  const got = m.g.backward(m.loss, { reuse: true }), wanted = want.g.backward(want.loss);
  for (const name of Object.keys(w)) {
    assert.ok(sameValues(got.get(name), wanted.get(name)), `d${name} at batch ${X.shape[0]}`);
  }
}

Deno.test("a smaller last batch: the graph built for 32 runs 10 rows, then 32 again, as if built for each", () => {
  const r = rng("last batch");
  const w = weights(r);
  const X32 = indices(r, [32, BLOCK], VOCAB), Y32 = indices(r, [32], VOCAB);
  const m = mlp(X32, Y32, w);
  assertAsBuiltFor(m, X32, Y32, w);
  const X10 = indices(r, [10, BLOCK], VOCAB), Y10 = indices(r, [10], VOCAB);
  m.g.run({ Xb: X10, Yb: Y10 });
  assertAsBuiltFor(m, X10, Y10, w);
  const X32b = indices(r, [32, BLOCK], VOCAB), Y32b = indices(r, [32], VOCAB);
  m.g.run({ Xb: X32b, Yb: Y32b });
  assertAsBuiltFor(m, X32b, Y32b, w);
});

Deno.test("only the nodes whose shape changed get new buffers", () => {
  const r = rng("buffers");
  const w = weights(r);
  const m = mlp(indices(r, [32, BLOCK], VOCAB), indices(r, [32], VOCAB), w);
  const ops = m.g.nodes.filter((n) => n.op !== null);
  const before = new Map<Node, { t: Tensor; shape: readonly number[] }>(
    ops.map((n) => [n, { t: n.value, shape: n.shape }]),
  );
  // Same shapes, new tensors: every buffer is kept.
  m.g.run({ Xb: indices(r, [32, BLOCK], VOCAB), Yb: indices(r, [32], VOCAB) });
  for (const n of ops) assert.ok(n.value === before.get(n)!.t, `${n.name} got a new buffer`);
  m.g.run({ Xb: indices(r, [10, BLOCK], VOCAB), Yb: indices(r, [10], VOCAB) });
  let kept = 0, made = 0;
  for (const n of ops) {
    const old = before.get(n)!;
    const same = n.shape.length === old.shape.length && n.shape.every((d, i) => d === old.shape[i]);
    // A composite whose inputs changed shape is built again (batchnorm keeps 1/n in a constant).
    if (n.op!.kind === "composite") continue;
    assert.equal(n.value === old.t, same, `${n.name} ${same ? "lost" : "kept"} its buffer`);
    same ? kept++ : made++;
  }
  assert.ok(kept >= 1 && made >= 4, `kept ${kept}, made ${made}`);
  assert.ok(m.hsum.value === before.get(m.hsum)!.t, "hsum, (16,) at any batch, lost its buffer");
});

Deno.test("evaluation on a whole split between training steps, in the training graph itself", () => {
  const r = rng("whole split");
  const w = weights(r);
  const split = { X: indices(r, [300, BLOCK], VOCAB), Y: indices(r, [300], VOCAB) };
  const batch = () => {
    const rows = Array.from({ length: 32 }, () => Math.floor(r() * 300));
    const X = Tensor.zeros([32, BLOCK], "int32"), Y = Tensor.zeros([32], "int32");
    rows.forEach((row, i) => {
      Y.data[i] = split.Y.data[row];
      X.data.set(split.X.data.subarray(row * BLOCK, row * BLOCK + BLOCK), i * BLOCK);
    });
    return { X, Y };
  };
  const first = batch();
  const m = mlp(first.X, first.Y, w);
  const params = ["C", "W1", "bngain", "bnbias", "W2", "b2"].map((name) => m.g.node(name));
  const opt = new optim.SGD(params, { lr: 0.1 });
  for (let step = 0; step < 6; step++) {
    const { X, Y } = step === 0 ? first : batch();
    m.g.run({ Xb: X, Yb: Y });
    opt.step(m.g.backward(m.loss, { reuse: true }));
    if (step % 3 === 2) {
      m.g.run({ Xb: split.X, Yb: split.Y });
      const want = mlp(split.X, split.Y, copies(w));
      assert.ok(sameValues(m.loss.value, want.loss.value), `split loss after step ${step}`);
    }
  }
  const last = batch();
  m.g.run({ Xb: last.X, Yb: last.Y });
  assertAsBuiltFor(m, last.X, last.Y, w);
});

/** One attention head pair over (1, T) tokens, mean over time, logits: a sampler's model. */
function attention(X: Tensor, w: Record<string, Tensor>) {
  const g = new Graph({ dtype: "float64" });
  const idx = g.input("idx", X);
  const x = embedding(g.param("C", w.C), idx); // (1, T, 8)
  const [B, T] = X.shape;
  const heads = (W: string) =>
    permute(reshape(matmul(x, g.param(W, w[W])), [B, T, 2, EMBD / 2]), [0, 2, 1, 3]);
  const q = heads("Wq"), k = heads("Wk"), v = heads("Wv"); // (1, 2, T, 4)
  const att = softmax(mul(matmul(q, transpose(k, -2, -1)), 0.5), -1); // (1, 2, T, T)
  const y = reshape(permute(matmul(att, v), [0, 2, 1, 3]), [B, T, EMBD]); // (1, T, 8)
  const logits = matmul(mean(y, 1), g.param("Wo", w.Wo)).named("logits"); // (1, 27)
  return { g, idx, logits };
}

Deno.test("sampling one sequence of growing length: one graph, T = 1 … 8, as if built for each T", () => {
  const r = rng("sampling");
  const w: Record<string, Tensor> = {
    C: uniform(r, [VOCAB, EMBD]),
    Wq: uniform(r, [EMBD, EMBD]),
    Wk: uniform(r, [EMBD, EMBD]),
    Wv: uniform(r, [EMBD, EMBD]),
    Wo: uniform(r, [EMBD, VOCAB]),
  };
  const tokens = [0];
  const sampler = attention(Tensor.from([tokens], "int32"), w);
  for (let T = 1; T <= 8; T++) {
    const X = Tensor.from([tokens], "int32");
    sampler.g.set(sampler.idx, X);
    const want = attention(X.clone(), w);
    assert.ok(sameValues(sampler.logits.value, want.logits.value), `logits at T = ${T}`);
    const l = sampler.logits.value.data;
    tokens.push(l.indexOf(Math.max(...l))); // greedy: the next token
  }
});

Deno.test("nn layers on sequences (B, T, C): Linear and BatchNorm1d follow T as it grows", () => {
  const random = rng("layers");
  const model = new nn.Sequential([
    new nn.Embedding(VOCAB, EMBD, { random }),
    new nn.Linear(EMBD, HIDDEN, { random }),
    new nn.BatchNorm1d(HIDDEN),
    new nn.Tanh(),
    new nn.Linear(HIDDEN, VOCAB, { random }),
  ]);
  const build = (X: Tensor) => {
    const g = new Graph({ dtype: "float64" });
    const idx = g.input("idx", X);
    return { g, idx, logits: model.forward(idx) };
  };
  const tokens = [[1, 2], [3, 4]];
  const sampler = build(Tensor.from(tokens, "int32"));
  for (let T = 3; T <= 7; T++) {
    tokens.forEach((row) => row.push(Math.floor(random() * VOCAB)));
    const X = Tensor.from(tokens, "int32");
    sampler.g.set(sampler.idx, X);
    assert.deepEqual(sampler.logits.shape, [2, T, VOCAB]);
    assert.ok(sameValues(sampler.logits.value, build(X.clone()).logits.value), `T = ${T}`);
  }
});

Deno.test("reshapeLike: rows back into another node's leading axes; gradcheck, and like takes none", () => {
  const r = rng("reshapeLike");
  const g = new Graph({ dtype: "float64" });
  const rows = g.param("rows", uniform(r, [6, 4]));
  const like = g.input("like", uniform(r, [2, 3, 5]));
  const y = reshapeLike(rows, like, 2);
  assert.deepEqual(y.shape, [2, 3, 4]);
  const out = sum(tanh(mul(y, g.param("w", uniform(r, [3, 1]))))); // w broadcasts over B and C
  assertGradcheck(g, out, r);
  assert.equal(g.backward(out).get(like), undefined, "like received a gradient");
  g.set(like, uniform(r, [6, 1, 5]));
  assert.deepEqual(y.shape, [6, 1, 4]);
});

Deno.test("reshape: sizes taken from the input follow it; -1 infers; a fixed size stays fixed", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.input("x", Tensor.zeros([32, 16, 4], "float64"));
  const byB = reshape(x, [32, -1]),
    inferred = reshape(x, [-1, 64]),
    heads = reshape(x, [32, 16, 2, 2]);
  const fixed = reshape(x, [8, -1, 4]); // 8 is not x's 32: it stays 8
  g.set(x, Tensor.zeros([8, 16, 4], "float64"));
  assert.deepEqual([byB.shape, inferred.shape, heads.shape], [[8, 64], [8, 64], [8, 16, 2, 2]]);
  assert.deepEqual(fixed.shape, [8, 16, 4]);
  // The issue's own: view(x, [32, 1024]) of (32, 16, 64) failed on a last batch of 10.
  const acts = g.input("acts", Tensor.zeros([32, 16, 64], "float64"));
  const flat = reshape(acts, [32, 1024]);
  g.set(acts, Tensor.zeros([10, 16, 64], "float64"));
  assert.deepEqual(flat.shape, [10, 1024]);
  const seq = g.input("seq", Tensor.zeros([1, 3, 4], "float64"));
  const split = reshape(seq, [1, 3, 2, 2]);
  g.set(seq, Tensor.zeros([1, 5, 4], "float64"));
  assert.deepEqual(split.shape, [1, 5, 2, 2]);
});

Deno.test("a shape that no longer fits: the error names the node, op, shapes now and built, and nothing changes", () => {
  const r = rng("error");
  const g = new Graph({ dtype: "float64" });
  const X = g.input("X", indices(r, [32, BLOCK], VOCAB));
  const emb = embedding(g.param("C", uniform(r, [VOCAB, EMBD])), X).named("emb");
  const rows = reshape(emb, [32 * BLOCK, EMBD]).named("rows"); // B·T written out: fixed
  const out = sum(tanh(rows)).named("out");
  const value = out.value.data[0], buffer = rows.value;
  assert.throws(() => g.set(X, indices(r, [10, BLOCK], VOCAB)), (e) => {
    assert.ok(e instanceof NinjagradError);
    assert.match(
      e.message,
      /^setting X to \(10, 4\): rows \(view\): cannot view \(10, 4, 8\) \(320 elements\) as \(128, 8\); emb is \(10, 4, 8\) now, \(32, 4, 8\) when built \(write an axis whose size changes as -1, .*\); the graph keeps its previous values \(X \(32, 4\)\)$/,
    );
    return true;
  });
  assert.deepEqual(X.shape, [32, BLOCK]);
  assert.equal(out.value.data[0], value);
  // rows, a view, shares emb's elements (emb had new buffers for (10, 4, 8) and back): the same
  // shape and values as before.
  assert.deepEqual(rows.shape, [32 * BLOCK, EMBD]);
  assert.deepEqual(Array.from(rows.value.data), Array.from(buffer.data));
  // The graph goes on: a batch of its own shape runs.
  g.set(X, indices(r, [32, BLOCK], VOCAB));
  assert.ok(Number.isFinite(out.value.data[0]));
});

Deno.test("inputs whose shapes disagree: the error names the composite op that cannot take them", () => {
  const r = rng("composite");
  const w = weights(r);
  const m = mlp(indices(r, [32, BLOCK], VOCAB), indices(r, [32], VOCAB), w);
  const loss = m.loss.value.data[0];
  // Xb alone: 10 rows of logits against 32 targets.
  assert.throws(() => m.g.set(m.Xb, indices(r, [10, BLOCK], VOCAB)), (e) => {
    assert.ok(e instanceof NinjagradError);
    assert.match(
      e.message,
      /^setting Xb to \(10, 4\): loss \(cross_entropy\): .*logits is \(10, 27\) now, \(32, 27\) when built/,
    );
    assert.match(e.message, /the graph keeps its previous values \(Xb \(32, 4\)\)$/);
    return true;
  });
  assert.equal(m.loss.value.data[0], loss);
  // Both at once, as run does, fit.
  m.g.run({ Xb: indices(r, [10, BLOCK], VOCAB), Yb: indices(r, [10], VOCAB) });
  assert.deepEqual(m.logits.shape, [10, VOCAB]);
});

Deno.test("makemore's Transformer, built for a batch of 4, runs a batch of 3 as if built for it", () => {
  const four = transformerGraph(4, 7), three = transformerGraph(3, 7);
  // The other graph's weights and tokens, given by label: parameters are written in place.
  four.graph.batch(() => {
    for (const node of three.graph.nodes) {
      if (node.kind !== "op" && node.label !== undefined) four.graph.set(node.label, node.value);
    }
  });
  assert.deepEqual(four.graph.node("idx").shape, [3, 16]);
  assert.ok(sameValues(four.loss.value, three.loss.value), "loss");
  const got = four.graph.backward(four.loss);
  for (const node of three.graph.nodes.filter((n) => n.kind === "param")) {
    assert.ok(sameValues(got.get(node.label!), three.grads.get(node)), `d${node.label}`);
  }
});

Deno.test("a size read off another node as a number stays fixed: the error names the node holding it; idx.size(0) follows", () => {
  // An RNN's first step: the start state expanded to [B, -1] beside the first token's features.
  const step = (live: boolean) => {
    const r = rng("fixed size");
    const g = new Graph({ dtype: "float64" });
    const idx = g.input("idx", indices(r, [4, 3], VOCAB));
    const emb = embedding(g.param("C", uniform(r, [VOCAB, EMBD])), idx);
    const xt = reshape(slice(emb, 1, 0, 1), [idx.size(0), -1]); // emb[:, 0, :], (B, 8)
    const B = live ? idx.size(0) : idx.shape[0]; // a Size, or the number 4
    const h = expand(g.param("start", uniform(r, [1, EMBD])), [B, -1]);
    const out = sum(tanh(concat([xt, h], 1)));
    return { g, idx, out };
  };
  const fixed = step(false);
  assert.throws(() => fixed.g.set(fixed.idx, indices(rng("two"), [2, 3], VOCAB)), (e) => {
    assert.ok(e instanceof NinjagradError);
    assert.match(
      e.message,
      /^setting idx to \(2, 3\): concat#\d+ \(concat\): .*view#\d+ is \(2, 8\) now, \(4, 8\) when built, expand#\d+ is \(4, 8\) as built; the graph keeps its previous values \(idx \(4, 3\)\)$/,
    );
    return true;
  });
  assert.deepEqual(fixed.idx.shape, [4, 3]);
  const live = step(true);
  const two = indices(rng("two"), [2, 3], VOCAB);
  live.g.set(live.idx, two);
  const want = step(true);
  want.g.set(want.idx, two.clone());
  assert.ok(sameValues(live.out.value, want.out.value));
});
