/**
 * Anomaly detection: the first node whose forward value or gradient is NaN or ±Inf is named
 * with its op, its label, the rule that ran (automatic or hand-written) and its inputs'
 * statistics, and the run stops there with one line, in a script, in `train` and in `exercise`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  add,
  crossEntropy,
  Graph,
  log,
  mul,
  NinjagradError,
  pow,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import type { EngineEvent } from "../mod.ts";
import { loadNames } from "../exercises/data.ts";
import { detectAnomalies } from "../exercises/train/anomaly.ts";

const NAMES = new URL("../exercises/data/names.txt", import.meta.url);
const TRAIN = fileURLToPath(new URL("../exercises/cli/train.ts", import.meta.url));
const EXERCISE = fileURLToPath(new URL("../exercises/cli/exercise.ts", import.meta.url));

/** Asserts `fn` throws one line matching every pattern; returns the message. */
function throwsOneLine(fn: () => unknown, ...patterns: RegExp[]): string {
  let message = "";
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NinjagradError, `not a NinjagradError: ${e}`);
    message = e.message;
    return true;
  });
  assert.ok(!message.includes("\n"), `more than one line: ${message}`);
  for (const p of patterns) assert.match(message, p);
  return message;
}

Deno.test("log(0): the forward anomaly names logprobs, its op and its input's statistics", () => {
  const g = new Graph({ detectAnomaly: true });
  const probs = g.input("probs", Tensor.from([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]));
  const logprobs = log(probs).named("logprobs");
  const events: EngineEvent[] = [];
  g.events$.subscribe((e) => e.type === "anomaly" && events.push(e));
  // A probability that underflowed to 0 in the second row.
  throwsOneLine(
    () => g.set(probs, Tensor.from([[0.5, 0.25, 0.25], [0, 0.5, 0.5]])),
    /^anomaly: the forward value of logprobs \(log\) is -Infinity at flat index 3/,
    /its inputs: probs \(2, 3\) min 0 max 0\.5 mean 0\.3333/,
  );
  assert.equal(events.length, 1);
  // Compared, not rendered: a failed assert would print the node, and with it the whole graph.
  assert.ok(
    events[0].type === "anomaly" && events[0].node === logprobs,
    "the event names logprobs",
  );
});

Deno.test("without detectAnomaly the same log(0) passes silently: the switch is what catches it", () => {
  const g = new Graph();
  const probs = g.input("probs", Tensor.from([0.5, 0.5]));
  const logprobs = log(probs).named("logprobs");
  g.set(probs, Tensor.from([0, 1]));
  assert.equal(logprobs.value.data[0], -Infinity);
});

Deno.test("a node caught as it is created, before .named(), is named by its inputs", () => {
  const g = new Graph({ detectAnomaly: true });
  const probs = g.input("probs", Tensor.from([0.5, 0, 0.5]));
  throwsOneLine(
    () => log(probs).named("logprobs"),
    /the forward value of log#1 \(log of probs\) is -Infinity at flat index 1/,
  );
});

Deno.test("inside a composite, the anomaly names the node that holds it", () => {
  const g = new Graph();
  const logits = g.param("logits", Tensor.from([[2, 1, 0], [0, 1, 2]]));
  const targets = g.input("Yb", Tensor.from([1, 2], "int32"));
  crossEntropy(logits, targets).named("loss");
  g.detectAnomaly = true;
  // exp(−1e4) is 0 in float32: probs holds a 0, and log gives −Infinity.
  throwsOneLine(
    () => g.set(logits, Tensor.from([[0, -1e4, 0], [0, 1, 2]])),
    /^anomaly: the forward value of logprobs \(log\) inside loss \(cross_entropy\) is -Infinity/,
    /its inputs: probs \(2, 3\) min 0 max 0\.6652/,
  );
});

/** The lecture's tanh with a rule that is right except where it divides by zero. */
function tanhWithBadRule(detectAnomaly: boolean) {
  const g = new Graph({ detectAnomaly });
  const hpreact = g.param("hpreact", Tensor.from([[0.5, -1], [0, 2]]));
  const h = tanh(hpreact).named("h");
  const loss = sum(mul(h, 3)).named("loss");
  // (1 − h²)·g, written as g·(1 − h²)·hpreact/hpreact: NaN where hpreact is 0.
  g.override(h, ({ g: up, out, inputs: { x } }) => {
    const d = Tensor.zeros(out.shape);
    for (let i = 0; i < d.size; i++) {
      d.data[i] = up.data[i] * (1 - out.data[i] ** 2) * x.data[i] / x.data[i];
    }
    return d;
  });
  return { g, loss };
}

Deno.test("a hand-written rule that returns NaN: named, said to be hand-written, with statistics", () => {
  const { g, loss } = tanhWithBadRule(true);
  throwsOneLine(
    () => g.backward(loss),
    /^anomaly: the hand-written rule for input "x" of h \(tanh\) returned NaN at flat index 2/,
    /upstream \(2, 2\) min 3\.000 max 3\.000/,
    /inputs: hpreact \(2, 2\) min -1 max 2 mean 0\.375/,
  );
});

Deno.test("without detectAnomaly a NaN gradient still stops the pass, without the statistics", () => {
  const { g, loss } = tanhWithBadRule(false);
  const message = throwsOneLine(
    () => g.backward(loss),
    /^the hand-written rule for input "x" of h \(tanh\) returned NaN at flat index 2: gradients must be finite$/,
  );
  assert.ok(!message.includes("upstream"));
});

Deno.test("an automatic rule that returns Inf is named as automatic", () => {
  const g = new Graph({ detectAnomaly: true });
  const bnvar = g.param("bnvar", Tensor.from([4, 0, 1]));
  const std = pow(bnvar, 0.5).named("bnstd"); // forward √0 = 0 is fine; d/dx = 0.5/√0 is not
  throwsOneLine(
    () => g.backward(sum(mul(std, 2)).named("loss")),
    /^anomaly: the automatic rule for input "x" of bnstd \(pow\) returned Infinity at flat index 1/,
    /inputs: bnvar \(3,\) min 0 max 4/,
  );
});

Deno.test("--detect-anomaly's check of a built graph stops at a hand-written NaN", () => {
  const { g, loss } = tanhWithBadRule(false);
  throwsOneLine(() => detectAnomalies(g, loss), /^anomaly: the hand-written rule .* of h \(tanh\)/);
  assert.equal(g.detectAnomaly, false, "the switch is put back as it was");
});

/** Spawns a CLI; its exit code and stderr lines. */
async function run(cli: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.trim() !== "");
  return { code: out.code, stderr: lines };
}

const dir = await Deno.makeTempDir({ prefix: "ninjagrad-anomaly-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const DATA = join(dir, "names.txt");
await Deno.writeTextFile(DATA, (await loadNames(NAMES)).slice(0, 100).join("\n"));
const absurd = ["--data", DATA, "--steps", "50", "--hidden", "16", "--lr", "1000", "--quiet"];

Deno.test("train --lr 1000 --detect-anomaly stops at the first bad node, by its lecture name", async () => {
  for (const backward of ["manual", "auto"]) {
    const { code, stderr } = await run(TRAIN, [
      ...absurd,
      "--backward",
      backward,
      "--detect-anomaly",
    ]);
    assert.equal(code, 1, stderr.join("\n"));
    assert.equal(stderr.length, 1, stderr.join("\n"));
    assert.match(
      stderr[0],
      /^error: anomaly at step \d+: the forward value of logprobs \(log\) inside loss \(cross_entropy\) is -Infinity at flat index \d+; its inputs: probs \(32, 27\) min 0 /,
    );
  }
});

Deno.test("train --lr 1000 without the switch stops at the loss, and says what to try", async () => {
  const { code, stderr } = await run(TRAIN, absurd);
  assert.equal(code, 1);
  assert.deepEqual(stderr.length, 1);
  assert.match(
    stderr[0],
    /^error: the loss is (NaN|Infinity) at step \d+: the run diverged \(the largest weight is \w+\[\d+\] = .*\); try a smaller --lr$/,
  );
});

Deno.test("exercise 1 --detect-anomaly and exercise 4 --detect-anomaly run clean", async () => {
  const [one, four] = await Promise.all([
    run(EXERCISE, ["1", "--data", DATA, "--detect-anomaly"]),
    run(EXERCISE, ["4", "--data", DATA, "--steps", "20", "--detect-anomaly"]),
  ]);
  assert.equal(one.code, 0, one.stderr.join("\n"));
  assert.equal(four.code, 0, four.stderr.join("\n"));
});

// Backward looks at a buffer once per call: a rule's result that lies in a buffer already found
// finite (a rule passing g on, a composite's gradient) is not looked at again. These cases pass
// a non-finite gradient on in each way that must still be caught at the rule that returns it.

/**
 * h = x + 0, used twice (times c): h's gradient is the sum of two contributions, passed on to x
 * as is. 2048 values: the record keeps results of 1024 values and more.
 */
function passedOn(scale: number) {
  const g = new Graph({ dtype: "float32" });
  const x = g.param("x", Tensor.full([2048], 1, "float32"));
  const c = g.input("c", Tensor.full([1], scale, "float32"));
  const h = add(x, 0).named("h");
  const s = add(mul(h, c).named("u"), mul(h, c).named("v")).named("s");
  const loss = sum(s).named("loss");
  return { g, h, c, loss };
}

Deno.test("a gradient summed from two finite ones that overflows is caught where a rule passes it on, in a reusing pass's recycled buffers too", () => {
  const { g, c, loss } = passedOn(1);
  // Finite sums pass, twice over; the second pass gets the first's buffers back.
  for (let i = 0; i < 2; i++) {
    assert.ok(g.backward(loss, { reuse: true }).get("x")!.data.every((v) => v === 2));
  }
  // Now u's and v's rules each return 3e38 (finite); their sum at h is Infinity in float32, in
  // the buffer that held h's finite gradient before.
  g.set(c, Tensor.full([1], 3e38, "float32"));
  throwsOneLine(
    () => g.backward(loss, { reuse: true }),
    /^the automatic rule for input "a" of h \(add\) returned Infinity at flat index 0: gradients must be finite$/,
  );
});

Deno.test("a NaN seed is caught at the first rule that passes it on", () => {
  const { g, h } = passedOn(1);
  throwsOneLine(
    () => {
      const seed = Tensor.full([2048], 1, "float32");
      seed.data[1] = NaN;
      return g.backward(h, { seed });
    },
    /^the automatic rule for input "a" of h \(add\) returned NaN at flat index 1: gradients must be finite$/,
  );
});

Deno.test("a hand-written rule that writes NaN into its upstream gradient: the automatic rule passing that gradient on is caught", () => {
  const { g, loss } = passedOn(1);
  // s = u + v: the rule for u spoils g (found finite when sum's rule returned it) in place; the
  // automatic rule for v returns g itself.
  g.override("s", {
    a: ({ g: up }) => {
      up.data[0] = NaN;
      return Tensor.zeros(up.shape, "float32");
    },
  });
  throwsOneLine(
    () => g.backward(loss),
    /^the automatic rule for input "b" of s \(add\) returned NaN at flat index 0: gradients must be finite$/,
  );
});
