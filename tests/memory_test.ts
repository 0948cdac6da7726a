/**
 * Tensors that live in the WebAssembly kernels' memory (ops/kernels/memory.ts): every kernel
 * gives the same bits whether its operands and result live there or not, written in place or
 * over an input, with lengths that leave a kernel's last block of lanes half full; operands too
 * big for the scratch run in JavaScript, to the same bits. (That a collected tensor's block is
 * used again waits on the collector: tests/bench/steady_memory.ts, run apart.)
 */
import assert from "node:assert/strict";
import { Arena, type Shape, Tensor } from "../ops/kernels/tensor.ts";
import * as t from "../ops/kernels/mod.ts";
import { sgdUpdate } from "../ops/kernels/elementwise.ts";
import { isResident, limitScratch, RESIDENT_MIN, residentF32 } from "../ops/kernels/memory.ts";
import { seeded } from "../exercises/bench/workloads.ts";

type Where = "plain" | "resident";

/** The same random values (same seed) in a plain tensor or in the kernels' memory. */
function make(shape: Shape, where: Where, seed: number, lo = -1, hi = 1): Tensor {
  const rand = seeded(seed), n = shape.reduce((a, b) => a * b, 1);
  const x = where === "plain" ? Tensor.zeros(shape, "float32") : Tensor.owned(shape, "float32");
  // Too small a tensor stays plain wherever it is asked for.
  assert.equal(isResident(x.data), where === "resident" && n >= RESIDENT_MIN);
  for (let i = 0; i < n; i++) x.data[i] = lo + (hi - lo) * rand();
  return x;
}

/** Asserts two tensors hold the same bits (−0 apart from 0, NaN equal to NaN). */
function sameBits(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, what);
  for (let i = 0; i < want.size; i++) {
    if (!Object.is(got.data[i], want.data[i])) {
      assert.fail(`${what}: element ${i} is ${got.data[i]}, want ${want.data[i]}`);
    }
  }
}

/** Every kernel case, run on operands made by `make` with an output placed at `out`. */
const CASES: [string, (w: Where, out: Where) => Tensor][] = [];
const output = (shape: Shape, where: Where) =>
  where === "plain" ? Tensor.zeros(shape, "float32") : Tensor.owned(shape, "float32");
for (const n of [256, 257, 258, 259, 260, 1001]) {
  CASES.push(
    [`exp (${n})`, (w, o) => t.exp(make([n], w, 1, -5, 5), output([n], o))],
    [`log (${n})`, (w, o) => t.log(make([n], w, 2, 1e-3, 9), output([n], o))],
    [`tanh (${n})`, (w, o) => t.tanh(make([n], w, 3, -4, 4), output([n], o))],
    [`neg (${n})`, (w, o) => t.neg(make([n], w, 4), output([n], o))],
    [`x² (${n})`, (w, o) => t.pow(make([n], w, 5), 2, output([n], o))],
    [`1 − x² (${n})`, (w, o) => t.oneMinusSquare(make([n], w, 6), output([n], o))],
    [`x · 3 (${n})`, (w, o) => t.mul(make([n], w, 7), 3, output([n], o))],
    [`x / y (${n})`, (w, o) => t.div(make([n], w, 8), make([n], w, 9, 1, 2), output([n], o))],
    [
      `g·(1 − h²) (${n})`,
      (w, o) => t.mulOneMinusSquare(make([n], w, 10), make([n], w, 11), output([n], o)),
    ],
  );
}
for (const [rows, width] of [[32, 200], [9, 30], [33, 27]]) {
  const full = [rows, width], row = [1, width], col = [rows, 1];
  CASES.push(
    [
      `${rows}×${width} + row`,
      (w, o) => t.add(make(full, w, 12), make(row, w, 13), output(full, o)),
    ],
    [
      `${rows}×${width} − col`,
      (w, o) => t.sub(make(full, w, 14), make(col, w, 15), output(full, o)),
    ],
    [
      `sum over the batch of ${rows}×${width}`,
      (w, o) => t.sum(make(full, w, 16), { axis: 0, keepdim: true }, output(row, o)),
    ],
    [`sumTo a row, ${rows}×${width}`, (w) => t.sumTo(make(full, w, 17), [width])],
    [`batchnorm's dx, ${rows}×${width}`, (w) =>
      t.batchNormDx(
        make(full, w, 27),
        make(row, w, 28),
        make(full, w, 29, -2, 2),
        make(row, w, 30, 0.5, 2),
      )],
    [
      `Σ a·b over the batch, ${rows}×${width}`,
      (w) => t.mulSumTo(make(full, w, 31), make(full, w, 32), row),
    ],
    [`cross-entropy's dlogits, ${rows}×${width}`, (w) =>
      t.probsMinusOneHot(
        make(full, w, 33, 0, 1),
        new Tensor(Int32Array.from({ length: rows }, (_, i) => (i * 7) % width), [rows]),
        Tensor.scalar(0.7),
      )],
  );
}
// The embedding's lookup and its scatter-add, 96 indices into 27 rows of 10.
const LOOKUPS = new Tensor(Int32Array.from({ length: 96 }, (_, i) => (i * 11) % 27), [96]);
CASES.push(
  [
    `lookup of 96 rows of 10`,
    (w, o) => t.gatherRows(make([27, 10], w, 34), LOOKUPS, output([96, 10], o)),
  ],
  [
    `scatter-add of 96 rows of 10`,
    (w) => t.scatterAddRows(make([96, 10], w, 35), LOOKUPS, [27, 10]),
  ],
);
// Long rows (sixteen partial sums on WebAssembly, reduce.ts's rowSums32), tails of every length.
for (const [rows, width] of [[1, 256], [3, 257], [2, 1001], [1, 4099], [5, 270]]) {
  CASES.push([
    `row sums of ${rows}×${width}`,
    (w, o) => t.sum(make([rows, width], w, 26), { axis: 1, keepdim: false }, output([rows], o)),
  ]);
}
// m not a multiple of 4 (the kernel computes whole blocks of four rows) with results big
// enough to live in the memory, and tiny ones that stay in JavaScript.
const SIZES = [[32, 30, 200], [30, 32, 27], [33, 30, 200], [32, 200, 27], [7, 13, 9], [
  200,
  32,
  27,
]];
for (const [m, k, n] of SIZES) {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    CASES.push([`matmul ${m}×${k} @ ${k}×${n} (${transA}, ${transB})`, (w, o) =>
      t.matmul(
        make(transA ? [k, m] : [m, k], w, 18),
        make(transB ? [n, k] : [k, n], w, 19),
        { transA, transB },
        output([m, n], o),
      )]);
  }
}

Deno.test("every kernel gives the same bits on tensors in the kernels' memory as on plain ones", () => {
  for (const [name, run] of CASES) {
    const want = run("plain", "plain");
    for (const [w, o] of [["resident", "resident"], ["resident", "plain"], ["plain", "resident"]]) {
      sameBits(run(w as Where, o as Where), want, `${name}, operands ${w}, output ${o}`);
    }
  }
});

Deno.test("slice's and concat's row moves give the plain loops' bits wherever their tensors lie; a recycled slice gradient is zero outside its block", () => {
  // (outer, total, from, width): the MLP's 16 windows of (32, 31, 64) and its (512, 1024) concat,
  // runs shorter than a quad and tails, a whole row.
  const layouts = [
    [32, 31 * 64, 5 * 64, 16 * 64],
    [512, 1024, 3 * 64, 64],
    // The Transformer's q, k, v split of (32, 16, 192), k: whole-buffer zeroing; 16 rows: row by row.
    [512, 192, 64, 64],
    [16, 192, 128, 64],
    [7, 13, 2, 5],
    [
      9,
      33,
      30,
      3,
    ],
    [3, 70, 0, 70],
    [20, 70, 1, 66],
  ];
  for (const [outer, total, from, width] of layouts) {
    const what = `${outer} rows of ${total}, columns ${from}..${from + width}`;
    for (const w of ["plain", "resident"] as const) {
      for (const o of ["plain", "resident"] as const) {
        const src = make([outer, total], w, 40), part = make([outer, width], w, 41);
        const cols = new Float32Array(outer * width),
          put = Float32Array.from(make([outer, total], o, 42).data);
        for (let r = 0; r < outer; r++) {
          for (let j = 0; j < width; j++) {
            cols[r * width + j] = src.data[r * total + from + j];
            put[r * total + from + j] = part.data[r * width + j];
          }
        }
        const got = t.takeColumns(
          src,
          outer,
          total,
          from,
          width,
          [outer, width],
          output([outer, width], o),
        );
        sameBits(got, new Tensor(cols, [outer, width]), `slice, ${what}, ${w} into ${o}`);
        const dst = make([outer, total], o, 42);
        t.putColumns(part, dst, outer, total, from, width);
        sameBits(dst, new Tensor(put, [outer, total]), `concat, ${what}, ${w} into ${o}`);
      }
    }
    // A slice's backward in a reusing pass's arena: the second pass gets the first's buffer
    // back, resident and holding its values, and must zero every column around the block.
    const arena = new Arena(), previous = arena.enter();
    try {
      for (const seed of [43, 44]) {
        arena.reset();
        const g = make([outer, width], "resident", seed);
        const want = new Float32Array(outer * total);
        for (let r = 0; r < outer; r++) {
          for (let j = 0; j < width; j++) want[r * total + from + j] = g.data[r * width + j];
        }
        const got = t.placeColumns(g, [outer, total], outer, total, from, width);
        assert.equal(isResident(got.data), outer * total >= RESIDENT_MIN);
        sameBits(
          got,
          new Tensor(want, [outer, total]),
          `slice's backward, ${what}, pass ${seed - 42}`,
        );
        got.data.fill(7); // what the next pass finds in the recycled buffer
      }
    } finally {
      Arena.leave(previous);
    }
  }
});

Deno.test("a kernel writing over one of its own operands gives the bits of a fresh output", () => {
  for (const where of ["plain", "resident"] as const) {
    // In place: o is x itself.
    const x = make([32, 200], where, 20), y = make([1, 200], where, 21);
    const want = t.add(make([32, 200], "plain", 20), make([1, 200], "plain", 21));
    sameBits(t.add(x, y, x), want, `${where} x += row, in place`);
    const g = make([6400], where, 22), h = make([6400], where, 23, -0.99, 0.99);
    const wantG = t.mulOneMinusSquare(
      make([6400], "plain", 22),
      make([6400], "plain", 23, -0.99, 0.99),
    );
    sameBits(t.mulOneMinusSquare(g, h, g), wantG, `${where} g·(1 − h²) into g`);
    const p = make([1001], where, 24), grad = make([1001], where, 25);
    const wantP = make([1001], "plain", 24);
    sgdUpdate(wantP.data, make([1001], "plain", 25).data, 0.1);
    sgdUpdate(p.data, grad.data, 0.1);
    sameBits(p, wantP, `${where} SGD in place`);
  }
  // Over a shifted view of an input: o starts four values into x, so a kernel writing o where
  // it lies would overwrite values of x it has yet to read.
  const block = residentF32(1004);
  assert.ok(isResident(block));
  const x = new Tensor(new Float32Array(block.buffer, block.byteOffset, 1000), [1000]);
  const o = new Tensor(new Float32Array(block.buffer, block.byteOffset + 16, 1000), [1000]);
  const rand = seeded(26);
  for (let i = 0; i < 1000; i++) x.data[i] = rand() * 2 - 1;
  const want = t.mul(new Tensor(x.data.slice(), [1000]), 2);
  sameBits(t.mul(x, 2, o), want, "x · 2 written four values past x");
  const wantT = t.tanh(new Tensor(o.data.slice(), [1000]));
  sameBits(t.tanh(o, x), wantT, "tanh written four values before its input");
});

Deno.test("operands too big for the scratch run in JavaScript, to the same bits", () => {
  const want = CASES.map(([, run]) => run("resident", "resident"));
  limitScratch(1024);
  try {
    CASES.forEach(([name, run], i) => {
      sameBits(run("resident", "resident"), want[i], `${name}, scratch of 1 KiB`);
      sameBits(run("plain", "plain"), want[i], `${name}, plain, scratch of 1 KiB`);
    });
  } finally {
    limitScratch(Infinity);
  }
});
