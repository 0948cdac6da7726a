/**
 * `deno task makemore`: every model type trains for a few steps on a small configuration and
 * prints its JSON lines; makemore's split; --sample-only from the saved model; bad flags.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { seededRandom } from "../mod.ts";
import { createDatasets, testSetSize, wordsOf } from "../exercises/makemore/data.ts";
import { createModel, MODEL_TYPES } from "../exercises/makemore/models.ts";
import { Graph } from "../graph/graph.ts";
import { Tensor } from "../ops/kernels/tensor.ts";
import { mul, sum } from "../ops/build.ts";
import { makemoreWorkload } from "../exercises/bench/makemore.ts";
import { lectureNames, runCommand, scratchDir, tempNamesFile } from "./helpers.ts";

const SMALL = [
  "--n-layer",
  "1",
  "--n-head",
  "2",
  "--n-embd",
  "8",
  "--n-embd2",
  "8",
  "--batch-size",
  "4",
];
const names = await lectureNames(200);
const input = await tempNamesFile(names);
const dir = await scratchDir("makemore_test");
const lines = (stdout: string) =>
  stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

Deno.test("makemore's split: 10% of the words as the test split, at most 1,000; a partition", () => {
  assertEquals([testSetSize(32033), testSetSize(200), testSetSize(19)], [1000, 20, 1]);
  const words = wordsOf(" anna\r\nbob\n\n" + names.slice(2).join("\n") + "\n");
  assertEquals(words.length, 200);
  const { train, test } = createDatasets(words, seededRandom(1));
  assertEquals([train.length, test.length], [180, 20]);
  assertEquals([...train.words, ...test.words].sort(), [...words].sort());
  // Rows as makemore's CharDataset: x = [0, word], y = [word, 0, −1…].
  const { X, Y } = train.rows([train.words.indexOf("anna")]);
  const T = train.outputLength(), a = train.stoi.get("a")!, n = train.stoi.get("n")!;
  assertEquals([...X.data.slice(0, 6)], [0, a, n, n, a, 0]);
  assertEquals([...Y.data.slice(0, 6)], [a, n, n, a, 0, -1]);
  assertEquals(Y.data[T - 1], -1);
});

Deno.test("the MLP's x is makemore's: block k holds the embedding of the token k places back (<BLANK> before the word), and wte's gradient sums those blocks", () => {
  const random = seededRandom(5);
  const config = { blockSize: 4, vocabSize: 5, nLayer: 1, nEmbd: 3, nEmbd2: 4, nHead: 1 };
  const model = createModel("mlp", config, random);
  const graph = new Graph({ dtype: "float64" });
  const [B, T, C, K] = [3, 4, 3, 4];
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(random() * 5));
  const idx = graph.input("idx", new Tensor(tokens, [B, T]));
  const [logits] = model.forward(idx);
  const loss = sum(
    mul(
      logits,
      graph.constant(
        Tensor.from(Array.from({ length: B * T * 5 }, () => random() - 0.5), "float64", [B, T, 5]),
      ),
    ),
  );
  const x = graph.nodes.findLast((n) => n.op?.name === "concat")!;
  assertEquals(x.shape, [B, T, K * C]);
  const wte = model.parameters(graph).find((p) => p.name === "wte.weight")!;
  const grads = graph.backward(loss), dx = grads.get(x)!.data, table = wte.value.data;
  const want = new Float64Array(6 * C), xs = x.value.data;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < K; k++) {
        const row = t - k >= 0 ? tokens[b * T + t - k] : config.vocabSize; // <BLANK>
        for (let c = 0; c < C; c++) {
          const at = (b * T + t) * K * C + k * C + c;
          assertEquals(xs[at], table[row * C + c], `x[${b}, ${t}, block ${k}]`);
          want[row * C + c] += dx[at];
        }
      }
    }
  }
  const got = grads.get(wte)!.data;
  want.forEach((w, i) => assert(Math.abs(got[i] - w) < 1e-12, `d wte[${i}]: ${got[i]} vs ${w}`));
});

for (const type of MODEL_TYPES) {
  Deno.test(`makemore --type ${type}: 3 steps, an evaluation at step 2, the whole splits last`, async () => {
    const out = await runCommand("makemore", [
      ...["--type", type, "-i", input, "-o", dir(type), "--max-steps", "3", "--eval-every", "2"],
      ...[...SMALL, "--json"],
    ]);
    assertEquals(out.code, 0, out.stderr.join("\n"));
    const records = lines(out.stdout);
    const [start] = records, done = records[records.length - 1];
    assertEquals(start.event, "start");
    assertEquals([start.type, start.train_words, start.test_words], [type, 180, 20]);
    assertEquals(records.filter((r) => r.event === "step").map((r) => r.step), [0]);
    const evals = records.filter((r) => r.event === "eval");
    assertEquals(evals.map((r) => r.step), [2]);
    assertEquals(done.event, "done");
    assertEquals(done.step, 3);
    for (const r of [...evals, done]) {
      for (const k of ["train_loss", "test_loss"]) {
        const v = r[k] as number;
        // Untrained, the loss is near ln 27 ≈ 3.30 (the bigram's zero table: exactly).
        assert(v > 2.5 && v < 4.5, `${type} ${k} ${v}`);
      }
    }
    if (type === "bigram") assert(Math.abs((done.test_loss as number) - Math.log(27)) < 0.01);
  });
}

Deno.test("makemore --sample-only: 50 samples of the model saved by a run", async () => {
  const out = await runCommand("makemore", [
    ...["--type", "gru", "-i", input, "-o", dir("gru"), "--sample-only", "--json", ...SMALL],
  ]);
  assertEquals(out.code, 0, out.stderr.join("\n"));
  const [samples] = lines(out.stdout);
  assertEquals(samples.event, "samples");
  const count = ["train", "test", "new"].reduce((n, k) => n + (samples[k] as string[]).length, 0);
  assertEquals(count, 50);
  // Another type's file is refused in one line, naming the type it holds.
  const wrong = await runCommand("makemore", [
    ...["--type", "rnn", "-i", input, "-o", dir("gru"), "--sample-only", ...SMALL],
  ]);
  assertEquals(wrong.code, 1);
  assertEquals(wrong.stderr.length, 1);
  assertMatch(wrong.stderr[0], /holds a model with type gru, not rnn: give --type gru/);
  const none = await runCommand("makemore", ["-o", dir("nothing"), "--sample-only"]);
  assertEquals(none.code, 1);
  assertMatch(none.stderr[0], /no saved model at .*model\.safetensors: train one first/);
});

Deno.test("makemore --resume: starts from the saved model, not from fresh weights", async () => {
  const args = ["--type", "bow", "-i", input, "--max-steps", "1", "--json", ...SMALL];
  const first = lines((await runCommand("makemore", [...args, "-o", dir("bow")])).stdout);
  const resumed = await runCommand("makemore", [...args, "-o", dir("bow"), "--resume"]);
  assertEquals(resumed.code, 0, resumed.stderr.join("\n"));
  const again = lines(resumed.stdout);
  assertEquals(again[0].resumed, true);
  // The saved model is the best of the earlier runs, trained: its first loss is not the fresh one.
  const loss = (rs: Record<string, unknown>[]) => rs.find((r) => r.event === "step")!.loss;
  assert(loss(again) !== loss(first), `${loss(again)} ${loss(first)}`);
  const none = await runCommand("makemore", [...args, "-o", dir("none"), "--resume"]);
  assertEquals(none.code, 1);
  assertEquals(none.stderr.length, 1);
});

Deno.test("makemore: bad flags are one-line usage errors (exit 2); --help", async () => {
  for (
    const [args, message] of [
      [["--type", "lstm"], /--type must be one of bigram, mlp, rnn, gru, bow, transformer/],
      [["--typ", "mlp"], /unknown flag --typ; did you mean --type\?/],
      [["--max-steps", "ten"], /--max-steps must be a number/],
      [["--n-embd", "10", "--n-head", "4"], /--n-embd 10 must be a multiple of --n-head 4/],
    ] as const
  ) {
    const out = await runCommand("makemore", args);
    assertEquals(out.code, 2, args.join(" "));
    assertEquals(out.stderr.length, 1);
    assertMatch(out.stderr[0], message);
  }
  const help = await runCommand("makemore", ["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /--type T +bigram\|mlp\|rnn\|gru\|bow\|transformer/);
});

Deno.test("makemore's models carry makemore.py's parameter names", () => {
  const config = { blockSize: 16, vocabSize: 27, nLayer: 2, nEmbd: 8, nEmbd2: 8, nHead: 2 };
  const names = (type: typeof MODEL_TYPES[number]) => {
    const model = createModel(type, config, seededRandom(1));
    const graph = new Graph();
    const zeros = Tensor.zeros([2, 16], "int32");
    model.forward(graph.input("X", zeros), graph.input("Y", zeros));
    return model.parameters(graph).map((p) => p.name);
  };
  const transformer = names("transformer");
  assertEquals(transformer.slice(0, 3), [
    "transformer.wte.weight",
    "transformer.wpe.weight",
    "transformer.h.0.ln_1.gamma",
  ]);
  assert(transformer.includes("transformer.h.1.attn.c_attn.weight"));
  assertEquals(transformer.slice(-3), [
    "transformer.ln_f.gamma",
    "transformer.ln_f.beta",
    "lm_head.weight",
  ]);
  assertEquals(names("bigram"), ["logits"]);
  assertEquals(names("gru").slice(0, 3), ["start", "wte.weight", "cell.xh_to_z.weight"]);
  assertEquals(names("bow")[2], "context_block.mlp.c_fc.weight");
  assertEquals(names("mlp"), [
    "wte.weight",
    "mlp.0.weight",
    "mlp.0.bias",
    "mlp.2.weight",
    "mlp.2.bias",
  ]);
});

Deno.test("bench --makemore: each model's training step, as timed; a type it lacks is refused", async () => {
  for (const type of MODEL_TYPES) {
    const w = makemoreWorkload(type);
    w.step();
    const first = w.loss();
    for (let i = 0; i < 3; i++) w.step();
    // Fresh weights on makemore's default sizes: near ln 27; four AdamW steps later, still finite.
    assert(first > 3 && first < 4, `${type} ${first}`);
    assert(Number.isFinite(w.loss()), `${type} ${w.loss()}`);
  }
  const bad = await runCommand("bench", ["--makemore", "lstm"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr[0], /--makemore takes model types separated by commas .*got "lstm"/);
});
