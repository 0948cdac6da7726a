import assert from "node:assert/strict";
import {
  MT19937,
  PythonRandom,
  type RandnDtype,
  torchDefaultGenerator,
  TorchGenerator,
} from "../exercises/rng/mod.ts";
import { NAMES, readParityGolden } from "./helpers.ts";

const golden = readParityGolden();
const f = Math.fround;

/** PyTorch's float32 `tensor * scalar`: the scalar becomes a float, one rounding per element. */
function scale(x: Float32Array, s: number): Float32Array {
  return x.map((v) => v * f(s));
}

function sum(x: Float32Array): number {
  return x.reduce((a, v) => a + v, 0);
}

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  assert.ok(actual.length >= expected.length, `${what}: too few values`);
  expected.forEach((e, i) => {
    const diff = Math.abs(actual[i] - e);
    assert.ok(diff <= tol, `${what}[${i}]: got ${actual[i]}, expected ${e} (|diff| ${diff})`);
  });
}

/** The lecture's parameter draws from `Generator().manual_seed(2147483647)`, in its order. */
function lectureDraws(g: TorchGenerator) {
  const C = g.randn([27, 10], "float32");
  const W1raw = g.randn([30, 64], "float32");
  const W1 = scale(W1raw, 5 / 3).map((v) => v / f(Math.sqrt(30)));
  const b1 = scale(g.randn([64], "float32"), 0.1);
  const W2 = scale(g.randn([64, 27], "float32"), 0.1);
  const b2 = scale(g.randn([27], "float32"), 0.1);
  const batchIx = g.randint(0, 182625, 32);
  return { C, W1, b1, W2, b2, batchIx };
}

/** bngain and bnbias from torch's default generator after `torch.manual_seed(42)`. */
function bnDraws(g: TorchGenerator) {
  const bngain = scale(g.randn([1, 64], "float32"), 0.1).map((v) => v + 1);
  const bnbias = scale(g.randn([1, 64], "float32"), 0.1);
  return { bngain, bnbias };
}

Deno.test("MT19937 seeded 5489 gives the reference outputs", () => {
  const mt = new MT19937();
  const first = Array.from({ length: 10 }, () => mt.nextU32());
  assert.deepEqual(first, [
    3499211612,
    581869302,
    3890346734,
    3586334585,
    545404204,
    4161255391,
    3922919429,
    949333985,
    2715962298,
    1323567403,
  ]);
  for (let i = 10; i < 9999; i++) mt.nextU32();
  // The C++ standard pins std::mt19937's 10000th output from the default seed.
  assert.equal(mt.nextU32(), 4123659995);
});

Deno.test("MT19937 state survives a JSON round trip mid-sequence", () => {
  const mt = new MT19937(2147483647);
  for (let i = 0; i < 700; i++) mt.nextU32();
  const saved = JSON.parse(JSON.stringify(mt.getState()));
  const expected = Array.from({ length: 1000 }, () => mt.nextU32());
  const resumed = new MT19937(1);
  resumed.setState(saved);
  assert.deepEqual(Array.from({ length: 1000 }, () => resumed.nextU32()), expected);
  assert.throws(() => resumed.setState({ mt: [1, 2], index: 0 }), /624 words/);
});

Deno.test("PythonRandom(42) matches CPython's random.seed(42)", () => {
  const r = new PythonRandom(42);
  assert.equal(r.random(), 0.6394267984578837);
  const q = new PythonRandom(42);
  const words = Array.from({ length: 5 }, () => q.getrandbits(32));
  assert.deepEqual(words, [2746317213, 478163327, 107420369, 3184935163, 1181241943]);
  // CPython seeds with abs(seed).
  assert.deepEqual(new PythonRandom(-42).getState(), new PythonRandom(42).getState());
});

Deno.test("PythonRandom(42).shuffle reproduces the lecture's word order and splits", () => {
  const words = Deno.readTextFileSync(NAMES).split("\n");
  if (words.at(-1) === "") words.pop(); // like Python's splitlines()
  assert.equal(words.length, golden.n_words);
  new PythonRandom(42).shuffle(words);
  assert.deepEqual(words.slice(0, golden.first_shuffled.length), golden.first_shuffled);
  const n1 = Math.floor(0.8 * words.length);
  const n2 = Math.floor(0.9 * words.length);
  const examples = (ws: string[]) => ws.reduce((a, w) => a + w.length + 1, 0);
  const sizes = [words.slice(0, n1), words.slice(n1, n2), words.slice(n2)].map(examples);
  assert.deepEqual(sizes, golden.split_sizes);
});

Deno.test("torch randn reproduces the lecture's C", () => {
  for (const kernel of ["avx2", "scalar"] as const) {
    const { C } = lectureDraws(new TorchGenerator(2147483647, kernel));
    assertClose(C.subarray(0, 10), golden.C_first_row, 2e-6, `C (${kernel})`);
  }
});

Deno.test("torch randn reproduces the lecture's W1, b1, W2, b2 and batch indices", () => {
  for (const kernel of ["avx2", "scalar"] as const) {
    const d = lectureDraws(new TorchGenerator(2147483647, kernel));
    assert.ok(Math.abs(sum(d.W1) - golden.W1_sum) < 1e-3, `W1 sum ${sum(d.W1)} (${kernel})`);
    assertClose(d.b1, golden.b1_first, 2e-6, `b1 (${kernel})`);
    assert.ok(Math.abs(sum(d.W2) - golden.W2_sum) < 1e-3, `W2 sum ${sum(d.W2)} (${kernel})`);
    assertClose(d.b2, golden.b2_first, 2e-6, `b2 (${kernel})`);
    assert.deepEqual(Array.from(d.batchIx), golden.batch_ix);
  }
});

Deno.test("torch default generator seeded 42 reproduces bngain and bnbias", () => {
  const { bngain, bnbias } = bnDraws(torchDefaultGenerator(42));
  assertClose(bngain, golden.bngain_first, 2e-6, "bngain");
  assertClose(bnbias, golden.bnbias_first, 2e-6, "bnbias");
});

Deno.test("the AVX2 kernel matches every golden normal bit for bit", () => {
  const d = lectureDraws(new TorchGenerator(2147483647, "avx2"));
  const bn = bnDraws(torchDefaultGenerator(42, "avx2"));
  const pairs: [Float32Array, number[]][] = [
    [d.C, golden.C_first_row],
    [d.b1, golden.b1_first],
    [d.b2, golden.b2_first],
    [bn.bngain, golden.bngain_first],
    [bn.bnbias, golden.bnbias_first],
  ];
  for (const [got, want] of pairs) assert.deepEqual(Array.from(got.subarray(0, want.length)), want);
});

Deno.test("torch randn below 16 elements uses the double path and caches its second normal", () => {
  // torch.manual_seed(42); torch.randn(5): the familiar first values.
  const small = torchDefaultGenerator(42).randn([5], "float32");
  assert.deepEqual(Array.from(small), [
    0.33669036626815796,
    0.12880940735340118,
    0.23446236550807953,
    0.23033303022384644,
    -1.1228563785552979,
  ]);
  // Generator().manual_seed(7): randn(3) leaves a cached sine that a 16+ draw does not touch, and
  // the next small draw hands it out (checked against PyTorch 1.13).
  const g = new TorchGenerator(7);
  const dt: RandnDtype = "float64";
  assert.deepEqual(Array.from(g.randn([3], dt)), [
    -0.1467950974849952,
    0.7861412987235358,
    0.9468216090039564,
  ]);
  g.randn([20], dt);
  assert.deepEqual(Array.from(g.randn([1], dt)), [-1.1143440212610307]);
  // Two draws of 2 are one draw of 4, because the cache carries over between calls.
  const a = new TorchGenerator(3);
  const b = new TorchGenerator(3);
  const split = [...a.randn([2], dt), ...a.randn([2], dt)];
  assert.deepEqual(split, Array.from(b.randn([4], dt)));
  // manualSeed drops the cache.
  a.randn([1], dt);
  assert.deepEqual(a.manualSeed(3).randn([1], dt), b.manualSeed(3).randn([1], dt));
});

Deno.test("TorchGenerator state round-trips with the cached normal", () => {
  const g = new TorchGenerator(2147483647);
  g.randn([3], "float64"); // leaves a cached normal
  const saved = JSON.parse(JSON.stringify(g.getState()));
  assert.equal(typeof saved.nextDoubleNormal, "number");
  const expected = [...g.randn([1], "float64"), ...g.randn([27], "float32"), ...g.randint(0, 9, 5)];
  const h = new TorchGenerator();
  h.setState(saved);
  const got = [...h.randn([1], "float64"), ...h.randn([27], "float32"), ...h.randint(0, 9, 5)];
  assert.deepEqual(got, expected);
});

Deno.test("torch seeds keep their low 32 bits, as PyTorch's mt19937 does", () => {
  const draw = (s: number | bigint) => Array.from(new TorchGenerator(s).randn([16], "float32"));
  assert.deepEqual(draw(2n ** 32n + 42n), draw(42));
  assert.deepEqual(draw(-1), draw(0xffffffff));
  assert.throws(() => new TorchGenerator(0.5), /safe integer/);
  assert.throws(() => new TorchGenerator(0).randint(5, 5, 1), /low < high/);
});
