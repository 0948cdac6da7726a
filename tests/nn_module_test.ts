/**
 * nn.Module and nn.Parameter: PyTorch's dotted names from property names (a GPT-like nesting,
 * a bigram's raw table, Sequential's positions), the graph's leaves labelled the same, PyTorch's
 * default initialisation beside the lecture's, and state dicts loaded in place.
 */
import assert from "node:assert/strict";
import {
  add,
  crossEntropy,
  embedding,
  Graph,
  NinjagradError,
  nn,
  type Node,
  seededRandom,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { values } from "./helpers.ts";

class Attention extends nn.Module {
  c_attn: nn.Linear;
  c_proj: nn.Linear;
  constructor(n: number) {
    super();
    this.c_attn = new nn.Linear(n, 3 * n, { random: seededRandom(1) });
    this.c_proj = new nn.Linear(3 * n, n, { random: seededRandom(2) });
  }
  forward(x: Node): Node {
    return this.c_proj.forward(tanh(this.c_attn.forward(x)));
  }
}

class Block extends nn.Module {
  ln_1 = new nn.LayerNorm(4);
  attn = new Attention(4);
  forward(x: Node): Node {
    return add(x, this.attn.forward(this.ln_1.forward(x)));
  }
}

class Transformer extends nn.Module {
  wte = new nn.Embedding(5, 4, { random: seededRandom(3) });
  h = [new Block(), new Block()];
  forward(idx: Node): Node {
    let x = this.wte.forward(idx);
    for (const block of this.h) x = block.forward(x);
    return x;
  }
}

class GPT extends nn.Module {
  transformer = new Transformer();
  lm_head = new nn.Linear(4, 5, { bias: false, random: seededRandom(4) });
  forward(idx: Node, targets?: Node): [Node, Node | undefined] {
    const logits = this.lm_head.forward(this.transformer.forward(idx));
    return [logits, targets && crossEntropy(logits, targets)];
  }
}

const BLOCK_NAMES = [
  "ln_1.gamma",
  "ln_1.beta",
  "attn.c_attn.weight",
  "attn.c_attn.bias",
  "attn.c_proj.weight",
  "attn.c_proj.bias",
];

Deno.test("namedParameters: PyTorch's dotted names, and the graph's leaves labelled the same", () => {
  const g = new Graph();
  const model = new GPT();
  const idx = g.input("idx", Tensor.from([[0, 1, 2], [3, 4, 0]], "int32"));
  const [logits, loss] = model.forward(
    idx,
    g.input("targets", Tensor.from([[1, 2, 3], [4, 0, 1]], "int32")),
  );
  assert.deepEqual(logits.shape, [2, 3, 5]);
  const names = model.namedParameters().map(([name]) => name);
  assert.deepEqual(names, [
    "transformer.wte.weight",
    ...BLOCK_NAMES.map((n) => `transformer.h.0.${n}`),
    ...BLOCK_NAMES.map((n) => `transformer.h.1.${n}`),
    "lm_head.weight",
  ]);
  for (const [name, node] of model.namedParameters()) assert.equal(node.label, name);
  assert.ok(!g.nodes.some((n) => /_\d+$/.test(n.label ?? "")), "a label with a _2 suffix");
  const grads = g.backward(loss!);
  assert.equal(model.parameters().filter((p) => grads.get(p) === undefined).length, 0);
});

class Bigram extends nn.Module {
  logits = new nn.Parameter(Tensor.zeros([27, 27], "float64"));
  forward(idx: Node): Node {
    return embedding(this.logits.in(idx.graph), idx);
  }
}

class Rnn extends nn.Module {
  start = new nn.Parameter(Tensor.full([1, 3], 0.5, "float64"));
  cell = new nn.Linear(3, 3, { random: seededRandom(5) });
  forward(x: Node): Node {
    return this.cell.forward(add(x, this.start.in(x.graph)));
  }
}

class Outer extends nn.Module {
  rnn = new Rnn();
  forward(x: Node): Node {
    return this.rnn.forward(x);
  }
}

Deno.test("nn.Parameter: a raw tensor as a parameter, named by its property, trained", () => {
  const g = new Graph();
  const bigram = new Bigram();
  const out = bigram.forward(g.input("idx", Tensor.from([1, 2, 3], "int32")));
  assert.deepEqual(bigram.namedParameters().map(([n]) => n), ["logits"]);
  assert.equal(bigram.parameters()[0].label, "logits");
  const grads = g.backward(sum(out));
  assert.equal(sum(bigram.parameters()[0]).value.item(), 0);
  assert.ok(grads.get(bigram.parameters()[0]));
  const h = new Graph({ dtype: "float64" });
  const outer = new Outer();
  outer.forward(h.input("x", Tensor.zeros([2, 3], "float64")));
  assert.deepEqual(outer.namedParameters().map(([n]) => n), [
    "rnn.start",
    "rnn.cell.weight",
    "rnn.cell.bias",
  ]);
  assert.equal(outer.rnn.start.in(h).label, "rnn.start");
  assert.throws(() => new nn.Parameter(Tensor.zeros([2], "int32")), NinjagradError);
});

class WithMlp extends nn.Module {
  mlp = new nn.Sequential([new nn.Linear(2, 3), new nn.Tanh(), new nn.Linear(3, 2)]);
  forward(x: Node): Node {
    return this.mlp.forward(x);
  }
}

Deno.test("Sequential's children are named 0, 1, … under its property name; no weight_2", () => {
  const g = new Graph();
  const x = g.input("x", Tensor.zeros([4, 2]));
  const root = new nn.Sequential([new nn.Linear(2, 3), new nn.Tanh(), new nn.Linear(3, 2)]);
  root.forward(x);
  assert.deepEqual(root.namedParameters().map(([n, node]) => [n, node.label]), [
    ["0.weight", "0.weight"],
    ["0.bias", "0.bias"],
    ["2.weight", "2.weight"],
    ["2.bias", "2.bias"],
  ]);
  const m = new WithMlp();
  m.forward(x);
  assert.deepEqual(m.namedParameters().map(([n, node]) => [n, node.label]), [
    ["mlp.0.weight", "mlp.0.weight"],
    ["mlp.0.bias", "mlp.0.bias"],
    ["mlp.2.weight", "mlp.2.weight"],
    ["mlp.2.bias", "mlp.2.bias"],
  ]);
  m.eval();
  assert.equal(m.mlp.layers[1].training, false);
});

Deno.test("init: PyTorch's defaults beside the lecture's", () => {
  const n = 400, bound = 1 / Math.sqrt(n);
  const torchLike = new nn.Linear(n, 300, { init: "pytorch", random: seededRandom(9) });
  const w = values(torchLike.weight), bias = values(torchLike.bias);
  assert.ok(w.every((v) => Math.abs(v) <= bound) && bias.every((v) => Math.abs(v) <= bound));
  const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
  assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.02, `variance ${variance}`);
  assert.ok(bias.some((v) => v !== 0));
  const lecture = new nn.Linear(n, 300, { random: seededRandom(9) });
  assert.ok(values(lecture.bias).every((v) => v === 0));
  assert.ok(
    values(lecture.weight).some((v) => Math.abs(v) > bound),
    "randn/√fanIn exceeds ±1/√fanIn",
  );
  const emb = values(new nn.Embedding(300, 100, { random: seededRandom(2) }).weight);
  const mean = emb.reduce((s, v) => s + v, 0) / emb.length;
  const v2 = emb.reduce((s, v) => s + (v - mean) ** 2, 0) / emb.length;
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(v2 - 1) < 0.02, `N(0, 1)? mean ${mean} var ${v2}`);
  assert.throws(
    () => new nn.Linear(2, 2, { init: "xavier" as "pytorch" }),
    /"lecture" or "pytorch"/,
  );
});

Deno.test("stateDict and loadStateDict: names with buffers, loaded in place, graphs recomputed", () => {
  const g = new Graph({ dtype: "float64" });
  const make = () =>
    new nn.Sequential([new nn.Linear(2, 3, { random: seededRandom(1) }), new nn.BatchNorm1d(3)]);
  const a = make();
  const x = g.input("x", Tensor.from([[1, 2], [3, -1], [0, 1]], "float64"));
  const out = sum(a.forward(x));
  assert.deepEqual([...a.stateDict().keys()], [
    "0.weight",
    "0.bias",
    "1.gamma",
    "1.beta",
    "1.running_mean",
    "1.running_var",
  ]);
  const other = new nn.Sequential([
    new nn.Linear(2, 3, { random: seededRandom(7) }),
    new nn.BatchNorm1d(3),
  ]);
  const state = other.stateDict();
  state.get("1.beta")!.data.fill(1);
  a.loadStateDict(state);
  assert.deepEqual(values(a.stateDict().get("0.weight")), values(state.get("0.weight")));
  // the graph built before the load sees the new values: sum over 3 rows of 3 features, beta 1
  assert.ok(Math.abs(out.value.item() - 9) < 1e-9, `stale: ${out.value.item()}`);
  const missing = new Map(state);
  missing.delete("0.bias");
  assert.throws(() => a.loadStateDict(missing), /"0.bias" is missing/);
  const extra = new Map(state).set("2.weight", Tensor.zeros([1]));
  assert.throws(() => a.loadStateDict(extra), /has "2.weight", which the model does not/);
  const wrong = new Map(state).set("0.weight", Tensor.zeros([3, 2], "float64"));
  assert.throws(() => a.loadStateDict(wrong), /"0.weight" is \(3, 2\) in the state but \(2, 3\)/);
});

Deno.test("a parameter shared by two modules appears once, under its first name", () => {
  class Tied extends nn.Module {
    a = new Bigram();
    b = new Bigram();
    forward(idx: Node): Node {
      return add(this.a.forward(idx), this.b.forward(idx));
    }
  }
  const t = new Tied();
  t.b.logits = t.a.logits;
  const g = new Graph();
  t.forward(g.input("idx", Tensor.from([1, 2], "int32")));
  assert.deepEqual(t.namedParameters().map(([n]) => n), ["a.logits"]);
  const untied = new Tied();
  untied.forward(g.input("idx2", Tensor.from([1, 2], "int32")));
  assert.deepEqual(untied.namedParameters().map(([n]) => n), ["a.logits", "b.logits"]);
});

Deno.test("stateDict in PyTorch's layout: norm layers' weight/bias, Linear's weight transposed, loaded back", () => {
  const make = (seed: number) =>
    new nn.Sequential([
      new nn.Linear(2, 3, { random: seededRandom(seed) }),
      new nn.LayerNorm(3),
      new nn.BatchNorm1d(3),
    ]);
  const a = make(1);
  const torch = a.stateDict({ layout: "torch" });
  assert.deepEqual([...torch.keys()], [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "2.weight",
    "2.bias",
    "2.running_mean",
    "2.running_var",
    "2.num_batches_tracked",
  ]);
  assert.deepEqual(torch.get("0.weight")!.shape, [3, 2]);
  const w = a.stateDict().get("0.weight")!;
  assert.equal(torch.get("0.weight")!.get(2, 1), w.get(1, 2));
  const b = make(2);
  b.loadStateDict(torch, { layout: "torch" });
  assert.deepEqual(values(b.stateDict().get("0.weight")), values(w));
  assert.throws(() => b.loadStateDict(torch), /"0.weight" is \(3, 2\) in the state but \(2, 3\)/);
  assert.throws(
    () => b.loadStateDict(a.stateDict(), { layout: "torch" }),
    /"0.weight" is \(2, 3\) in the state but \(3, 2\) in the model \(PyTorch.s layout\)/,
  );
});

Deno.test("plain objects and arrays of modules are ModuleDicts and ModuleLists, as makemore's", () => {
  class Makemore extends nn.Module {
    transformer = {
      wte: new nn.Embedding(5, 4, { random: seededRandom(1) }),
      h: [new Block(), new Block()],
    };
    heads = { main: new nn.Parameter(Tensor.zeros([4], "float64")) };
    forward(idx: Node): Node {
      let x = this.transformer.wte.forward(idx);
      for (const block of this.transformer.h) x = block.forward(x);
      return add(x, this.heads.main.in(idx.graph));
    }
  }
  const g = new Graph();
  const m = new Makemore();
  m.forward(g.input("idx", Tensor.from([[0, 1]], "int32")));
  // PyTorch's order: a ParameterDict is a submodule, so heads.main comes where it was assigned
  assert.deepEqual(m.namedParameters().map(([n]) => n), [
    "transformer.wte.weight",
    ...BLOCK_NAMES.map((n) => `transformer.h.0.${n}`),
    ...BLOCK_NAMES.map((n) => `transformer.h.1.${n}`),
    "heads.main",
  ]);
  assert.deepEqual([...m.stateDict().keys()], m.namedParameters().map(([n]) => n));
  for (const [name, node] of m.namedParameters()) assert.equal(node.label, name);
  m.eval();
  assert.equal(m.transformer.h[1].attn.training, false);
});
