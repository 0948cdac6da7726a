/**
 * The pieces together, as a makemore user strings them: a small causal Transformer written as
 * nn.Modules (arange positions, tril mask with maskedFill, split, gelu's tanh form), trained by
 * fit with AdamW on names padded with −1 (crossEntropy's ignoreIndex), sampled with generate,
 * saved and loaded in the safetensors format into a fresh model that then gives the same logits.
 */
import assert from "node:assert/strict";
import {
  add,
  arange,
  crossEntropy,
  fit,
  gelu,
  generate,
  Graph,
  lastValueFrom,
  loadSafetensors,
  maskedFill,
  matmul,
  mul,
  nn,
  type Node,
  optim,
  reshape,
  saveSafetensors,
  seededRandom,
  softmax,
  split,
  Tensor,
  transpose,
  triu,
} from "../mod.ts";
import { values } from "./helpers.ts";

const V = 6, T = 5, E = 8;

class Attention extends nn.Module {
  c_attn: nn.Linear;
  c_proj: nn.Linear;
  constructor(random: () => number) {
    super();
    this.c_attn = new nn.Linear(E, 3 * E, { random, init: "pytorch" });
    this.c_proj = new nn.Linear(E, E, { random, init: "pytorch" });
  }
  forward(x: Node): Node {
    const [B, t] = x.shape;
    const [q, k, v] = split(this.c_attn.forward(x), E, 2);
    const ones = x.graph.constant(Tensor.full([t, t], 1));
    const future = triu(ones, 1); // 1 above the diagonal: the positions not yet seen
    const att = softmax(
      maskedFill(mul(matmul(q, transpose(k, -2, -1)), E ** -0.5), future, -Infinity),
    );
    return this.c_proj.forward(reshape(matmul(att, v), [B, t, E]));
  }
}

class TinyGPT extends nn.Module {
  blockSize = T;
  wte: nn.Embedding;
  wpe: nn.Embedding;
  attn: Attention;
  fc: nn.Linear;
  lm_head: nn.Linear;
  constructor(seed: number) {
    super();
    const random = seededRandom(seed);
    this.wte = new nn.Embedding(V, E, { random });
    this.wpe = new nn.Embedding(T, E, { random });
    this.attn = new Attention(random);
    this.fc = new nn.Linear(E, E, { random, init: "pytorch" });
    this.lm_head = new nn.Linear(E, V, { random, init: "pytorch" });
  }
  forward(idx: Node): Node {
    const pos = arange(idx.graph, idx.shape[1]);
    let x = add(this.wte.forward(idx), this.wpe.forward(pos));
    x = add(x, this.attn.forward(x));
    x = add(x, gelu(this.fc.forward(x), { approximate: "tanh" }));
    return this.lm_head.forward(x);
  }
}

Deno.test("a tiny makemore Transformer: trained with padding ignored, sampled, saved and loaded", async () => {
  // "words" 1 2 3 … then 0 (the end), padded with −1 in the targets
  const xs = Tensor.from([[0, 1, 2, 3, 4], [0, 2, 3, 4, 0], [0, 3, 4, 0, 0]], "int32");
  const ys = Tensor.from([[1, 2, 3, 4, 0], [2, 3, 4, 0, -1], [3, 4, 0, -1, -1]], "int32");
  const g = new Graph();
  const model = new TinyGPT(3);
  const logits = model.forward(g.input("X", xs));
  const loss = crossEntropy(logits, g.input("Y", ys), { ignoreIndex: -1 });
  const first = loss.value.item();
  const optimizer = new optim.AdamW(model.parameters(), { lr: 0.03 });
  await lastValueFrom(fit({ loss, optimizer, steps: 150, progress: false }));
  assert.ok(loss.value.item() < first / 3, `loss ${first} → ${loss.value.item()}`);
  assert.ok(model.namedParameters().some(([n]) => n === "attn.c_attn.weight"));
  // greedy continuation of "0 2" follows the pattern learned: 3 4 0
  const out = generate(model, Tensor.from([[0, 2]], "int32"), 3, { doSample: false });
  assert.deepEqual(values(out), [0, 2, 3, 4, 0]);
  const sampled = generate(model, Tensor.from([[0], [0]], "int32"), 8, { seed: 5, topK: 3 });
  assert.deepEqual(sampled.shape, [2, 9]);
  assert.ok(values(sampled).every((v) => v >= 0 && v < V));
  const dir = await Deno.makeTempDir();
  try {
    await saveSafetensors(`${dir}/tiny.safetensors`, model);
    const fresh = new TinyGPT(99);
    const h = new Graph();
    const again = fresh.forward(h.input("X", xs));
    assert.notDeepEqual(values(again.value), values(logits.value));
    await loadSafetensors(`${dir}/tiny.safetensors`, fresh);
    assert.deepEqual(values(again.value), values(logits.value));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
