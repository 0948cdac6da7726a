/**
 * A model's parameters saved and loaded in the safetensors format (round trip, the bytes of the
 * format, refusals), and makemore's generate on a bigram whose table says what comes next.
 */
import assert from "node:assert/strict";
import {
  decodeSafetensors,
  embedding,
  encodeSafetensors,
  generate,
  Graph,
  loadSafetensors,
  NinjagradError,
  nn,
  type Node,
  saveSafetensors,
  seededRandom,
  sum,
  Tensor,
} from "../mod.ts";
import { values } from "./helpers.ts";

class Bigram extends nn.Module {
  logits: nn.Parameter;
  constructor(table: Tensor) {
    super();
    this.logits = new nn.Parameter(table);
  }
  forward(idx: Node): Node {
    return embedding(this.logits.in(idx.graph), idx);
  }
}

class Mlp extends nn.Module {
  emb = new nn.Embedding(5, 3, { random: seededRandom(1) });
  net = new nn.Sequential([
    new nn.Linear(3, 4, { random: seededRandom(2) }),
    new nn.BatchNorm1d(4),
  ]);
  forward(idx: Node): Node {
    return this.net.forward(this.emb.forward(idx));
  }
}

Deno.test("safetensors: the format's bytes, and a round trip of every dtype", () => {
  const a = Tensor.from([[1.5, -2], [3, 4]], "float32");
  const b = Tensor.from([0.1, 1e-300], "float64");
  const c = Tensor.from([7, -1, 2], "int32");
  const bytes = encodeSafetensors([["a", a], ["b.x", b], ["c", c]], { format: "pt" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.a, { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] });
  assert.deepEqual(header["b.x"], { dtype: "F64", shape: [2], data_offsets: [16, 32] });
  assert.deepEqual(header.c, { dtype: "I32", shape: [3], data_offsets: [32, 44] });
  assert.deepEqual(header.__metadata__, { format: "pt" });
  assert.equal(bytes.length, 8 + n + 44);
  // little-endian float32 1.5 is 00 00 c0 3f
  assert.deepEqual([...bytes.subarray(8 + n, 12 + n)], [0, 0, 0xc0, 0x3f]);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt" });
  for (const [name, t] of [["a", a], ["b.x", b], ["c", c]] as const) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, t.dtype);
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(values(got), values(t));
  }
});

Deno.test("safetensors: PyTorch's int64 (num_batches_tracked) is read as int32 when it fits", () => {
  const header = new TextEncoder().encode(
    JSON.stringify({ n: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }).padEnd(48),
  );
  const bytes = new Uint8Array(8 + header.length + 16), view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(header.length), true);
  bytes.set(header, 8);
  view.setBigInt64(8 + header.length, 7n, true);
  view.setBigInt64(16 + header.length, -3n, true);
  const n = decodeSafetensors(bytes).tensors.get("n")!;
  assert.equal(n.dtype, "int32");
  assert.deepEqual(values(n), [7, -3]);
  view.setBigInt64(16 + header.length, 1n << 40n, true);
  assert.throws(() => decodeSafetensors(bytes), /"n" holds 1099511627776, beyond int32/);
});

Deno.test("safetensors: broken files are refused in one line", () => {
  const good = encodeSafetensors([["w", Tensor.from([1, 2], "float32")]]);
  const cut = good.subarray(0, good.length - 1);
  assert.throws(
    () => decodeSafetensors(cut, "w.safetensors"),
    /w.safetensors is not a safetensors file we can read: "w" \(2,\) F32 needs 8 bytes/,
  );
  assert.throws(
    () => decodeSafetensors(new Uint8Array(4)),
    /shorter than the 8-byte header length/,
  );
  const huge = new Uint8Array(good);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  assert.throws(() => decodeSafetensors(huge), /runs past the end/);
  const json = new Uint8Array(good);
  json[8] = 0x41;
  assert.throws(() => decodeSafetensors(json), /header is not JSON/);
});

Deno.test("a model saved and loaded: every tensor back, graphs see the loaded values", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const g = new Graph();
    const a = new Mlp();
    a.forward(g.input("idx", Tensor.from([0, 1, 2, 4], "int32")));
    const path = `${dir}/model.safetensors`;
    await saveSafetensors(path, a);
    const b = new Mlp();
    b.emb.weight.data.fill(0);
    const h = new Graph();
    const out = sum(b.forward(h.input("idx", Tensor.from([0, 1, 2, 4], "int32"))));
    const before = out.value.item();
    const loaded = await loadSafetensors(path, b);
    assert.deepEqual([...loaded.keys()], [...a.stateDict().keys()]);
    for (const [name, t] of a.stateDict()) {
      assert.deepEqual(values(b.stateDict().get(name)), values(t), name);
    }
    assert.notEqual(out.value.item(), before, "the graph kept the old values");
    const other = new Bigram(Tensor.zeros([3, 3], "float64"));
    await assert.rejects(
      () => loadSafetensors(path, other),
      /state has "emb.weight", which the model does not|"logits" is missing/,
    );
    await assert.rejects(() => loadSafetensors(`${dir}/none.safetensors`), NinjagradError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A bigram table: token i is followed by (i + 1) mod n with weight `sure`, others 0. */
function chain(n: number, sure: number): Tensor {
  const t = Tensor.zeros([n, n], "float64");
  for (let i = 0; i < n; i++) t.data[i * n + ((i + 1) % n)] = sure;
  return t;
}

Deno.test("generate: makemore's, greedy, sampled, top-k, temperature, block size", () => {
  const model = new Bigram(chain(5, 10));
  const idx = Tensor.from([[0], [3]], "int32");
  const greedy = generate(model, idx, 4, { doSample: false });
  assert.deepEqual(greedy.shape, [2, 5]);
  assert.deepEqual(values(greedy), [0, 1, 2, 3, 4, 3, 4, 0, 1, 2]);
  assert.deepEqual(values(generate(model, idx, 4, { topK: 1, seed: 3 })), values(greedy));
  // a flat table: samples spread over all tokens; seeded, repeatable
  const flat = new Bigram(Tensor.zeros([5, 5], "float64"));
  const start = Tensor.zeros([1, 1], "int32");
  const s1 = generate(flat, start, 200, { seed: 1 }), s2 = generate(flat, start, 200, { seed: 1 });
  assert.deepEqual(values(s1), values(s2));
  assert.equal(new Set(values(s1)).size, 5);
  // top-2 of the chain with a weak second choice: only the two best tokens ever follow
  const two = chain(5, 3);
  for (let i = 0; i < 5; i++) two.data[i * 5 + ((i + 2) % 5)] = 2;
  const drawn = values(generate(new Bigram(two), start, 300, { topK: 2, seed: 2 }));
  for (let k = 1; k < drawn.length; k++) {
    const d = (drawn[k] - drawn[k - 1] + 5) % 5;
    assert.ok(d === 1 || d === 2, `step ${k}: ${drawn[k - 1]} → ${drawn[k]}`);
  }
  // a low temperature makes the weak choice rarer
  const rare = (temperature: number) => {
    const s = values(generate(new Bigram(chain(5, 1)), start, 400, { temperature, seed: 4 }));
    return s.slice(1).filter((v, k) => v !== (s[k] + 1) % 5).length;
  };
  assert.ok(rare(0.3) < rare(3), `${rare(0.3)} vs ${rare(3)}`);
  // the context is cut to blockSize: the model sees at most 2 tokens (its one graph's input
  // takes each step's context, its time axis growing to the block size)
  const seen: number[] = [];
  class Spy extends Bigram {
    override forward(idx: Node): Node {
      idx.value$.subscribe((v) => seen.push(v.shape[1]));
      return super.forward(idx);
    }
  }
  generate(new Spy(chain(5, 10)), idx, 4, { blockSize: 2, doSample: false });
  assert.deepEqual(seen, [1, 2, 2, 2]);
  class Sized extends Spy {
    getBlockSize(): number {
      return 3;
    }
  }
  seen.length = 0;
  generate(new Sized(chain(5, 10)), idx, 4, { doSample: false });
  assert.deepEqual(seen, [1, 2, 3, 3]);
  assert.throws(
    () => generate(model, Tensor.from([0, 1], "int32"), 2),
    /int32 token indices \(batch, time\)/,
  );
});
