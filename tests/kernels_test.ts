/**
 * The speed work must not change a number: the fast kernels against plain reference loops, the
 * fused composite forwards against node-by-node evaluation, and reusing backward passes against
 * fresh ones, bit for bit, in both dtypes.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { assertSameSaved } from "./helpers.ts";
import { type FloatDType, type Shape, Tensor } from "../ops/kernels/tensor.ts";
import type { AnyRule, CompositeOp } from "../graph/op.ts";
import * as nn from "../ops/nn.ts";
import * as t from "../ops/kernels/mod.ts";
import { broadcastStrides } from "../ops/kernels/broadcast.ts";
import { maskedFill, maskedFillBackward } from "../ops/kernels/movement.ts";
import { binaryKernel } from "../ops/kernels/elementwise.ts";
import { adamwUpdate } from "../ops/kernels/optim.ts";
import { limitScratch } from "../ops/kernels/memory.ts";
import { crossEntropyRows } from "../ops/kernels/loss.ts";
import { fastExp, fastLog, tanh32 } from "../ops/kernels/fastmath.ts";
import { MODULES, upToDate } from "../exercises/cli/wasm.ts";
import { nativeBlas, setBlasThreads } from "../ops/kernels/blas.ts";
import { compositeNet, seeded } from "../exercises/bench/workloads.ts";

function random(shape: Shape, dtype: FloatDType, rand: () => number, scale = 1): Tensor {
  const x = Tensor.zeros(shape, dtype);
  for (let i = 0; i < x.size; i++) x.data[i] = (rand() * 2 - 1) * scale;
  return x;
}

/** Index of the first element where two tensors' bits differ (NaN equals NaN), or −1. */
function firstDifference(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  for (let i = 0; i < a.size; i++) if (!Object.is(a.data[i], b.data[i])) return i;
  return -1;
}

/** How many float32 values lie between a and b (0 when equal; NaN and NaN are 0 apart). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  const bits = new Float32Array([a, b]), words = new Int32Array(bits.buffer);
  const order = (w: number) => (w < 0 ? -2147483648 - w : w);
  return Math.abs(order(words[0]) - order(words[1]));
}

Deno.test("float32 exp, log and sigmoid round to Math.exp's and Math.log's float32; tanh is within one ulp of Math.tanh's", () => {
  const rand = seeded(1);
  const f = Math.fround;
  const cases: [string, (x: number) => number, (x: number) => number, () => number][] = [
    ["exp", fastExp, Math.exp, () => rand() * 200 - 100],
    ["log", fastLog, Math.log, () => Math.exp(rand() * 160 - 80)],
  ];
  for (const [name, fast, exact, draw] of cases) {
    for (let i = 0; i < 100_000; i++) {
      const x = f(draw());
      assert.equal(f(fast(x)), f(exact(x)), `${name}(${x})`);
    }
  }
  // tanh runs in float32 arithmetic: one unit in the last place at worst (tests/bench/tanh_ulp.ts
  // checks every float32), most often none.
  let exact = 0;
  for (const scale of [10, 0.3, 1e-3]) {
    for (let i = 0; i < 100_000; i++) {
      const x = f((rand() * 2 - 1) * scale), want = f(Math.tanh(x));
      const d = ulps(tanh32(x), want);
      assert.ok(d <= 1, `tanh(${x}) = ${tanh32(x)}, ${d} ulps from ${want}`);
      if (d === 0) exact++;
    }
  }
  assert.ok(exact > 0.9 * 300_000, `only ${exact} of 300,000 tanh values correctly rounded`);
  // The float32 sigmoid (fastExp inside) against Math.exp's, rounded.
  const xs = Float32Array.from({ length: 100_000 }, () => rand() * 60 - 30);
  const ys = t.sigmoid(new Tensor(xs, [xs.length])).data;
  xs.forEach((x, i) => assert.equal(ys[i], f(1 / (1 + Math.exp(-x))), `sigmoid(${x})`));
  const edges = [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30, 88.7, -103.9, 1e30, -1e30];
  const sig = t.sigmoid(new Tensor(Float32Array.from(edges), [edges.length])).data;
  edges.forEach((x, i) => {
    const want = f(1 / (1 + Math.exp(-f(x))));
    assert.ok(Object.is(sig[i], want), `sigmoid(${x}): ${sig[i]} vs ${want}`);
  });
  for (const x of [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30, 88.7, -103.9, 1e30]) {
    assert.ok(Object.is(f(fastExp(x)), f(Math.exp(x))), `exp(${x})`);
    assert.ok(Object.is(tanh32(f(x)), f(Math.tanh(f(x)))), `tanh(${x})`);
    assert.ok(Object.is(f(fastLog(x)), f(Math.log(x))), `log(${x})`);
  }
});

Deno.test("float32 cross-entropy over rows (fastmath's exp) gives Math.exp's probabilities and loss, rounded, ignored rows skipped", () => {
  const rand = seeded(9), f = Math.fround;
  for (const [rows, c, spread] of [[512, 27, 6], [300, 65, 30], [64, 3, 200]]) {
    const logits = Float32Array.from({ length: rows * c }, () => (rand() - 0.5) * spread);
    const targets = Int32Array.from({ length: rows }, () => rand() < 0.2 ? -1 : (rand() * c) | 0);
    const out = Tensor.zeros([], "float32");
    const { probs, count } = crossEntropyRows(
      new Tensor(logits, [rows, c]),
      new Tensor(targets, [rows]),
      -1,
      0,
      out,
      undefined,
    );
    let total = 0, counted = 0;
    for (let i = 0; i < rows; i++) {
      const row = logits.subarray(i * c, (i + 1) * c);
      if (targets[i] === -1) {
        row.forEach((_, j) => assert.equal(probs.data[i * c + j], 0));
        continue;
      }
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      row.forEach((v, j) =>
        assert.equal(probs.data[i * c + j], f(Math.exp(v - lse)), `p[${i}, ${j}]`)
      );
      total += lse - row[targets[i]];
      counted++;
    }
    assert.equal(count, counted);
    assert.equal(out.data[0], f(total / counted), `${rows} rows of ${c}`);
  }
});

Deno.test("float32 exp and log kernels (WebAssembly SIMD) round as Math.* rounded; tanh gives tanh32's bits", () => {
  const rand = seeded(8);
  const f = Math.fround;
  const cases: [string, (x: Tensor) => Tensor, (x: number) => number, () => number][] = [
    ["exp", t.exp, (x) => f(Math.exp(x)), () => rand() * 200 - 100],
    ["log", t.log, (x) => f(Math.log(x)), () => Math.exp(rand() * 160 - 80)],
    ["tanh", t.tanh, tanh32, () => (rand() * 2 - 1) * 10],
    ["tanh near 0", t.tanh, tanh32, () => (rand() * 2 - 1) * 0.01],
  ];
  for (const [name, kernel, want, draw] of cases) {
    for (const n of [1, 2, 3, 5, 20_001]) {
      const x = Tensor.zeros([n]);
      for (let i = 0; i < n; i++) x.data[i] = draw();
      const y = kernel(x);
      for (let i = 0; i < n; i++) {
        assert.ok(Object.is(y.data[i], want(x.data[i])), `${name}(${x.data[i]})`);
      }
    }
  }
  const special = Tensor.from([0, -0, NaN, Infinity, -Infinity, 1e-45, -1, 3e38, 88.8, -104]);
  for (const [name, kernel, want] of cases.slice(0, 3)) {
    const y = kernel(special);
    special.data.forEach((x, i) => {
      assert.ok(Object.is(y.data[i], want(x)), `${name}(${x}): ${y.data[i]}`);
    });
  }
});

/** The product summed over p in order, each product and sum rounded to the dtype. */
function inOrder(
  a: Tensor,
  w: Tensor,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
) {
  const want = Tensor.zeros([m, n], a.dtype);
  // float32: each product and each sum rounded to float32; float64: in double.
  const round = a.dtype === "float32" ? Math.fround : (x: number) => x;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        acc = round(
          acc +
            round(a.data[transA ? p * m + i : i * k + p] * w.data[transB ? j * k + p : p * n + j]),
        );
      }
      want.data[i * n + j] = acc;
    }
  }
  return want;
}

Deno.test("matmul without a native BLAS: all four variants give the plain sum over p in the dtype, bit for bit", () => {
  const was = t.allowBlas(false);
  try {
    inOrderVariants();
  } finally {
    t.allowBlas(was);
  }
});

function inOrderVariants() {
  const rand = seeded(2);
  // Tails of every width (n mod 8) and height (m mod 4), tiny ones (the JavaScript loop), the
  // lecture's shapes, and k = 0.
  const sizes = [
    [1, 1, 1],
    [2, 3, 4],
    [5, 7, 3],
    [9, 13, 17],
    [32, 30, 64],
    [30, 32, 27],
    [
      3,
      0,
      5,
    ],
    [7, 5, 9],
    [4, 3, 8],
    [13, 11, 12],
    [6, 9, 14],
    [32, 200, 27],
    [200, 32, 27],
    [32, 30, 200],
  ];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [m, k, n] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = random(transA ? [k, m] : [m, k], dtype, rand);
          const w = random(transB ? [n, k] : [k, n], dtype, rand);
          const c = t.matmul(a, w, { transA, transB });
          const want = inOrder(a, w, m, k, n, transA, transB);
          const at = firstDifference(c, want);
          assert.equal(at, -1, `${dtype} ${m}x${k}@${k}x${n} transA ${transA} transB ${transB}`);
        }
      }
    }
  }
}

Deno.test("matmul with a native BLAS: float32 within the in-order sum's error bound, the same bits again and wherever the operands lie, on 1 thread or 2", () => {
  // Without a BLAS (no library, NINJAGRAD_BLAS=off) every product is the in-order one.
  const blas = nativeBlas();
  const threads = blas?.threads ?? 0;
  const rand = seeded(9);
  try {
    for (const count of blas ? [1, 2] : [1]) {
      if (blas) setBlasThreads(count);
      for (
        const [m, k, n] of [[32, 30, 64], [32, 200, 27], [200, 32, 27], [33, 31, 65], [96, 300, 70]]
      ) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = random(transA ? [k, m] : [m, k], "float32", rand);
            const w = random(transB ? [n, k] : [k, n], "float32", rand);
            const c = t.matmul(a, w, { transA, transB });
            const name =
              `${m}x${k}@${k}x${n} transA ${transA} transB ${transB}, ${count} thread(s)`;
            if (!blas) {
              assert.equal(firstDifference(c, inOrder(a, w, m, k, n, transA, transB)), -1, name);
              continue;
            }
            withinBound(a, w, c, m, k, n, transA, transB, name);
            // OpenBLAS splits a large product between threads the same way every time (the
            // split may change the last bits, so the thread count is part of the setting).
            const again = t.matmul(a, w, { transA, transB });
            assert.equal(firstDifference(again, c), -1, `${name} again`);
            const resident = t.matmul(residentCopy(a), residentCopy(w), { transA, transB });
            assert.equal(firstDifference(resident, c), -1, `${name} on resident operands`);
          }
        }
      }
    }
  } finally {
    if (blas) setBlasThreads(threads);
  }
});

/** |ĉ − c| ≤ γₖ·Σ|a||w| with γₖ = k·u/(1 − k·u), u = 2⁻²⁴: any order of the float32 sum. */
function withinBound(
  a: Tensor,
  w: Tensor,
  c: Tensor,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  name: string,
): void {
  const u = 2 ** -24, gamma = (k * u) / (1 - k * u);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let exact = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const x = a.data[transA ? p * m + i : i * k + p] * w.data[transB ? j * k + p : p * n + j];
        exact += x;
        abs += Math.abs(x);
      }
      const err = Math.abs(c.data[i * n + j] - exact);
      assert.ok(err <= gamma * abs + 1e-30, `${name} [${i}, ${j}]: ${err} > ${gamma * abs}`);
    }
  }
}

function residentCopy(x: Tensor): Tensor {
  const r = Tensor.owned(x.shape, x.dtype);
  r.data.set(x.data);
  return r;
}

Deno.test("NINJAGRAD_BLAS=off: no native BLAS, and the bench says so", async () => {
  const bench = fileURLToPath(new URL("../exercises/cli/bench.ts", import.meta.url));
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", bench, "--json", "--steps", "1", "--repeats", "1", "--no-kernels"],
    env: { NINJAGRAD_BLAS: "off" },
  }).output();
  assert.equal(code, 0);
  const lines = new TextDecoder().decode(stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], {
    case: "paths",
    blas: null,
    whyNoBlas: "NINJAGRAD_BLAS=off",
    blasMin: t.BLAS_MIN,
  });
  for (const line of lines.slice(1)) assert.ok(!line.paths.includes("blas"), JSON.stringify(line));
});

Deno.test("float32 row sums: in order below 256 values, sixteen partial sums from 256 on", () => {
  const rand = seeded(10);
  const f = Math.fround;
  // Short rows, many of them (WebAssembly from 256 values in all: four rows at a time, quads of
  // each row then its last width mod 4 values, the rows left over one by one), and long ones.
  const shapes: [number, number][] = [];
  for (const width of [1, 3, 4, 7, 16, 64, 255]) {
    for (const rows of [1, 3, 4, 70, 515]) shapes.push([rows, width]);
  }
  for (const width of [256, 257, 271, 1024, 5003]) {
    for (const rows of [1, 3]) shapes.push([rows, width]);
  }
  for (const [rows, width] of shapes) {
    const x = random([rows, width], "float32", rand, 100);
    const got = t.sum(x, { axis: 1, keepdim: false });
    for (let r = 0; r < rows; r++) {
      const row = x.data.subarray(r * width, (r + 1) * width);
      let want = 0;
      if (width < 256) { for (const v of row) want = f(want + v); }
      else {
        // Partial k mod 16 takes value k; pairs of partials, then pairs of pairs; the tail.
        const s = new Array(16).fill(0), blocks = width - (width % 16);
        for (let k = 0; k < blocks; k++) s[k % 16] = f(s[k % 16] + row[k]);
        const v = [0, 1, 2, 3].map((j) => f(f(s[j] + s[4 + j]) + f(s[8 + j] + s[12 + j])));
        want = f(f(v[0] + v[1]) + f(v[2] + v[3]));
        for (let k = blocks; k < width; k++) want = f(want + row[k]);
      }
      assert.ok(
        Object.is(got.data[r], want),
        `row ${r} of ${rows}×${width}: ${got.data[r]} vs ${want}`,
      );
    }
  }
});

Deno.test("the SGD update p −= lr·g rounds as PyTorch's float32 update (in double for float64), on every length", () => {
  const rand = seeded(3);
  for (const dtype of ["float32", "float64"] as const) {
    // Float32: p.data += -lr * p.grad, lr rounded to float32, then the product, then the sum.
    const r = dtype === "float32" ? Math.fround : (x: number) => x;
    // 40,001: a parameter of ten thousand quads and a tail; 1003, 1005: the tails after pairs.
    for (const n of [1, 7, 255, 256, 1001, 1003, 1005, 6000, 40_001]) {
      const p = random([n], dtype, rand), g = random([n], dtype, rand, 1e-2);
      const want = p.data.slice();
      for (let i = 0; i < n; i++) want[i] = r(want[i] + r(r(-0.1) * g.data[i]));
      t.sgdUpdate(p.data, g.data, 0.1);
      const at = firstDifference(p, new Tensor(want, [n]));
      assert.equal(at, -1, `${dtype} n ${n}: ${p.data[at]} vs ${want[at]}`);
    }
  }
});

Deno.test("AdamW's float32 update gives the bits of PyTorch's op-by-op rounding on every length, wherever its arrays lie", () => {
  // The rounding of torch.optim.AdamW's float32 ops (tests/golden/adamw_float32.json checks it
  // against PyTorch itself), written out here element by element.
  const f = Math.fround;
  const want = (p: number, g: number, m: number, v: number, k: number[]) => {
    const [dec, b1, a1, b2, a2, bc2, e, step] = k;
    p = f(p * dec);
    m = f(f(m * b1) + a1 * g);
    v = f(f(v * b2) + f(a2 * g) * g);
    return [f(p + f(f(step * m) / f(f(f(Math.sqrt(v)) / bc2) + e))), m, v];
  };
  const rand = seeded(21);
  const [lr, beta1, beta2, eps, wd] = [3e-3, 0.9, 0.99, 1e-8, 0.01];
  // Gradients of every size, zeros and values whose squares are subnormal among them.
  const grad = () => {
    const r = rand();
    return r < 0.05
      ? 0
      : r < 0.1
      ? (rand() - 0.5) * 1e-22
      : (rand() - 0.5) * 10 ** (4 * rand() - 3);
  };
  const owned = (n: number) => Tensor.owned([n], "float32").data as Float32Array;
  const plain = (n: number) => new Float32Array(n);
  // 40,001: a parameter of ten thousand quads and a tail; 63: below the kernel's minimum.
  for (const n of [1, 63, 64, 65, 67, 259, 1001, 40_001]) {
    for (
      const [where, make] of [
        ["plain", [plain, plain]],
        ["resident", [owned, owned]],
        ["mixed", [plain, owned]],
        ["plain, scratch of 1 KiB", [plain, plain]], // too big for it: the JavaScript loop
      ] as const
    ) {
      const [a, b] = make;
      const p = a(n), g = b(n), m = b(n), v = a(n);
      const ref = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      for (let i = 0; i < n; i++) p[i] = ref[0][i] = rand() * 2 - 1;
      for (let t = 1; t <= 4; t++) {
        for (let i = 0; i < n; i++) g[i] = grad();
        if (where.includes("scratch")) limitScratch(1024);
        try {
          adamwUpdate(p, g, m, v, t, lr, beta1, beta2, eps, wd);
        } finally {
          limitScratch(Infinity);
        }
        const k = [1 - lr * wd, beta1, 1 - beta1, beta2, 1 - beta2, Math.sqrt(1 - beta2 ** t), eps]
          .map(f).concat(f(-(lr / (1 - beta1 ** t))));
        for (let i = 0; i < n; i++) {
          [ref[0][i], ref[1][i], ref[2][i]] = want(ref[0][i], g[i], ref[1][i], ref[2][i], k);
        }
        ([["p", p], ["m", m], ["v", v]] as const).forEach(([name, got], j) => {
          const at = got.findIndex((x, i) => !Object.is(x, ref[j][i]));
          assert.equal(
            at,
            -1,
            `${where} n ${n} step ${t}: ${name}[${at}] ${got[at]} vs ${ref[j][at]}`,
          );
        });
      }
    }
  }
});

Deno.test("the embedding's lookup and its scatter-add give the plain loops' bits, repeated indices added in order", () => {
  const rand = seeded(14);
  for (const dtype of ["float32", "float64"] as const) {
    // d of 10 (the lecture's), 3 and 7 (tails shorter than a quad), 16; 96 lookups into 27 rows.
    for (
      const [rows, d, count] of [[27, 10, 96], [27, 3, 96], [5, 7, 40], [30, 16, 64], [4, 2, 3]]
    ) {
      const table = random([rows, d], dtype, rand);
      const idx = new Tensor(Int32Array.from({ length: count }, () => Math.floor(rand() * rows)), [
        count,
      ]);
      const want = Tensor.zeros([count, d], dtype);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < d; j++) want.data[i * d + j] = table.data[idx.data[i] * d + j];
      }
      const what = `${dtype} ${count} rows of ${d}`;
      assert.equal(firstDifference(t.gatherRows(table, idx), want), -1, `lookup, ${what}`);
      const g = random([count, d], dtype, rand);
      const sums = Tensor.zeros([rows, d], dtype);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < d; j++) sums.data[idx.data[i] * d + j] += g.data[i * d + j];
      }
      const got = t.scatterAddRows(g, idx, [rows, d]);
      assert.equal(firstDifference(got, sums), -1, `scatter-add, ${what}`);
    }
  }
});

Deno.test("broadcasting fast paths and sumTo agree with the general walk, bit for bit", () => {
  const rand = seeded(3);
  const ops: [string, typeof t.add, (x: number, y: number) => number][] = [
    ["add", t.add, (x, y) => x + y],
    ["sub", t.sub, (x, y) => x - y],
    ["mul", t.mul, (x, y) => x * y],
    ["div", t.div, (x, y) => x / y],
  ];
  // Small shapes run in JavaScript, large ones (256 elements and more) on WebAssembly SIMD;
  // widths that are not multiples of 4 exercise the lanes' tails.
  const pairs: [Shape, Shape][] = [
    [[40, 13], [40, 13]],
    [[40, 13], [1, 13]],
    [[40, 13], [13]],
    [[40, 13], [40, 1]],
    [[40, 13], []],
    [[6, 5], [6, 5]],
    [[6, 5], [1, 5]],
    [[6, 5], [5]],
    [[6, 5], [6, 1]],
    [[6, 5], [1, 1]],
    [[6, 5], []],
    [[1, 5], [6, 1]],
    [[2, 3, 4], [3, 1]],
    [[2, 3, 4], [2, 1, 4]],
  ];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, kernel, f] of ops) {
      const general = binaryKernel(f);
      for (const [sa, sb] of pairs) {
        for (const [x, y] of [[sa, sb], [sb, sa]]) {
          const a = random(x, dtype, rand), c = random(y, dtype, rand);
          const at = firstDifference(kernel(a, c), general(a, c));
          assert.equal(at, -1, `${dtype} ${name} ${x} ${y}`);
        }
      }
      for (const shape of [[4, 3], [40, 13]]) {
        const a = random(shape, dtype, rand), s = rand() * 3 + 0.5;
        assert.equal(firstDifference(kernel(a, s), general(a, s)), -1, `${dtype} ${name} ${s}`);
        assert.equal(firstDifference(kernel(s, a), general(s, a)), -1, `${dtype} ${name} ${s}`);
      }
    }
    const unary: [string, (x: Tensor) => Tensor, (x: number) => number][] = [
      ["neg", t.neg, (x) => -x],
      ["square", (x) => t.pow(x, 2), (x) => x * x],
      ["reciprocal", (x) => t.pow(x, -1), (x) => 1 / x],
      ["1 − x²", t.oneMinusSquare, (x) => 1 - x * x],
    ];
    for (const [name, kernel, f] of unary) {
      for (const shape of [[5], [1001]]) {
        const a = random(shape, dtype, rand, 3), want = Tensor.zeros(shape, dtype);
        for (let i = 0; i < a.size; i++) want.data[i] = f(a.data[i]);
        assert.equal(firstDifference(kernel(a), want), -1, `${dtype} ${name} ${shape}`);
      }
    }
    for (const shape of [[6, 5], [40, 13], [33, 64]]) {
      const a = random(shape, dtype, rand), want = Tensor.zeros([1, shape[1]], dtype);
      for (let i = 0; i < shape[0]; i++) {
        for (let j = 0; j < shape[1]; j++) want.data[j] += a.data[i * shape[1] + j];
      }
      const got = t.sum(a, { axis: 0, keepdim: true });
      assert.equal(firstDifference(got, want), -1, `${dtype} column sums ${shape}`);
    }
    for (
      const [from, to] of [
        [[6, 5], [5]],
        [[40, 13], [13]],
        [[40, 13], [1, 13]],
        [[6, 5], [
          6,
          1,
        ]],
        [[6, 5], []],
        [
          [2, 3, 4],
          [3, 1],
        ],
      ] as [Shape, Shape][]
    ) {
      const g = random(from, dtype, rand);
      const want = Tensor.zeros(to, dtype);
      // The general walk, written out: every element of g added into the entry it broadcast from.
      const strides = broadcastStrides(to, from);
      for (let i = 0; i < g.size; i++) {
        let rest = i, at = 0;
        for (let axis = from.length - 1; axis >= 0; axis--) {
          at += (rest % from[axis]) * strides[axis];
          rest = Math.floor(rest / from[axis]);
        }
        want.data[at] += g.data[i];
      }
      assert.equal(firstDifference(t.sumTo(g, to), want), -1, `${dtype} sumTo ${from} → ${to}`);
    }
  }
});

Deno.test("fused composite forwards give the very bits of node-by-node evaluation", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const bias1d of [false, true]) {
      // Same seeds: the same numbers. Anomaly detection makes `slow` evaluate node by node.
      const fast = compositeNet(dtype, 4, bias1d), slow = compositeNet(dtype, 4, bias1d);
      slow.graph.detectAnomaly = true;
      const rand = seeded(5);
      for (let step = 0; step < 3; step++) {
        for (const label of ["x", "w1", "gain", "w2"]) {
          const value = random(fast.graph.node(label).shape, dtype, rand, 2);
          fast.graph.node(label).value.data.set(value.data);
          slow.graph.node(label).value.data.set(value.data);
        }
        fast.graph.recompute();
        slow.graph.recompute();
        assertSameSaved(fast.composites, slow.composites, dtype);
      }
      // The fused forward leaves the subgraphs fit for the automatic rules: compare still agrees.
      for (const node of fast.composites) {
        const rules: Record<string, AnyRule> = {};
        for (const [input, rule] of Object.entries((node.op as CompositeOp).closedForm ?? {})) {
          if (rule) rules[input] = rule;
        }
        fast.graph.override(node, rules);
      }
      const atol = dtype === "float32" ? 1e-6 : 1e-12;
      const cmp = fast.graph.compare(fast.loss, { rtol: 1e-4, atol });
      assert.equal(cmp.firstDivergent?.name, undefined, dtype); // a name: a row holds the graph
    }
  }
});

Deno.test("a reusing backward gives the fresh one's gradients and hands the same buffers out again", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const { graph: g, loss } = compositeNet(dtype, 6);
    const fresh = g.backward(loss);
    const reused = g.backward(loss, { reuse: true });
    const labels = ["w1", "b1", "gain", "beta", "w2", "b2", "x", "pre", "bn", "logits"];
    const first = labels.map((l) => reused.get(l)!);
    for (const l of labels) assert.equal(firstDifference(reused.get(l)!, fresh.get(l)!), -1, l);
    // Another reusing pass: same tensors, same values; the fresh result is left alone.
    const kept = labels.map((l) => fresh.get(l)!.clone());
    const again = g.backward(loss, { reuse: true });
    assert.ok(again === reused, "the reusing pass hands back the same gradients object");
    labels.forEach((l, i) => {
      assert.ok(again.get(l) === first[i], `${l} is the same buffer`);
      assert.equal(firstDifference(again.get(l)!, kept[i]), -1, l);
      assert.equal(firstDifference(fresh.get(l)!, kept[i]), -1, `${l} (fresh) untouched`);
    });
    // compare runs its own passes: reusing passes around it change nothing.
    g.override("bn", { ...nn.batchNorm.closedForm! });
    const cmp = g.compare(loss, { rtol: 1e-4, atol: 1e-6 });
    assert.equal(cmp.firstDivergent?.name, undefined);
    const after = g.backward(loss, { reuse: true, overrides: false });
    assert.equal(firstDifference(after.get("w1")!, kept[0]), -1);
  }
});

Deno.test("the checked-in WebAssembly is what its text source assembles to (deno task wasm)", async () => {
  for (const name of MODULES) {
    assert.ok(await upToDate(name), `${name}.wasm is stale: run deno task wasm`);
  }
});

Deno.test("float32 permutes that swap two axes copy the general walk's elements, last axis swapped or not", () => {
  const rand = seeded(22);
  const cases: [Shape, number[]][] = [
    [[3, 5, 2, 4], [0, 2, 1, 3]], // attention's heads: (B, T, nh, hs) -> (B, nh, T, hs)
    [[3, 2, 5, 4], [0, 1, 3, 2]], // kᵀ: the last two axes
    [[2, 3, 4, 5, 3], [0, 3, 2, 1, 4]], // an axis between the two swapped
    [[3, 4, 5, 6], [0, 3, 2, 1]], // the last axis, with one between
    [[4, 3, 2], [2, 1, 0]],
    [[6, 7], [1, 0]],
    [[2, 3, 4], [1, 2, 0]], // not a swap: the general walk itself
    // Runs of a multiple of four (one WebAssembly call for every run): the Transformer's heads
    // and back, an axis between the two swapped, the first axis swapped.
    [[32, 16, 4, 16], [0, 2, 1, 3]],
    [[32, 4, 16, 16], [0, 2, 1, 3]],
    [[2, 3, 4, 5, 8], [0, 3, 2, 1, 4]],
    [[5, 3, 12], [1, 0, 2]],
  ];
  for (const [shape, axes] of cases) {
    const x = random(shape, "float32", rand);
    // float64 data takes the general walk; every float32 value is a double exactly.
    const want64 = t.permute(new Tensor(Float64Array.from(x.data), shape), axes);
    const want = new Tensor(Float32Array.from(want64.data), want64.shape);
    assert.equal(firstDifference(t.permute(x, axes), want), -1, `${shape} ${axes}`);
    // The engine's own tensors (in the kernels' memory) move on WebAssembly.
    const resident = Tensor.owned(shape, "float32"), out = Tensor.owned(want.shape, "float32");
    resident.data.set(x.data);
    assert.equal(firstDifference(t.permute(resident, axes, out), want), -1, `${shape} ${axes}`);
  }
});

Deno.test("float32 softmax along the last axis: each value Math.exp's softmax rounded to float32 (one ulp in near-ties), masked −∞ to 0", () => {
  const rand = seeded(7);
  const x = random([64, 16], "float32", rand, 8);
  for (let r = 0; r < 64; r++) for (let c = r % 16 + 1; c < 16; c++) x.data[r * 16 + c] = -Infinity;
  const y = t.softmax(x, -1, false);
  let worst = 0;
  for (let r = 0; r < 64; r++) {
    const row = Array.from(x.data.subarray(r * 16, r * 16 + 16));
    const m = Math.max(...row), e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < 16; c++) {
      const want = Math.fround(e[c] / z), got = y.data[r * 16 + c];
      if (row[c] === -Infinity) assert.equal(got, 0);
      worst = Math.max(worst, Math.abs(got - want) / Math.max(want, 1e-30));
    }
  }
  assert.ok(worst <= 2 ** -23, `softmax off by ${worst} relative`);
});

Deno.test("float32 softmax along the last axis on WebAssembly (the engine's tensors, rows of a multiple of four) gives the JavaScript loop's bits: masked −∞, NaN, ±Infinity, −0, gaps past e^-708, rows all −∞", () => {
  const rand = seeded(11);
  for (const n of [4, 8, 16, 20, 64, 6]) {
    const rows = 40, x = Tensor.owned([rows, n], "float32");
    for (let i = 0; i < rows * n; i++) x.data[i] = (rand() * 2 - 1) * (i % 5 === 0 ? 60 : 8);
    // Attention's causal mask, then rows that test the edges.
    for (let r = 0; r < 16; r++) for (let c = r % n + 1; c < n; c++) x.data[r * n + c] = -Infinity;
    const row = (r: number, values: number[]) =>
      values.forEach((v, c) => x.data[r * n + (c % n)] = v);
    row(16, [NaN]);
    row(17, [Infinity, 1]);
    row(18, Array(n).fill(-Infinity));
    row(19, [-0, 0, -0, -0]);
    row(20, [0, -707.9, -708, -708.1, -745, -746, -800, 88]);
    row(21, [-1e30, 3e38, -3e38, 1e-45]);
    row(22, [Infinity, Infinity, -Infinity]);
    row(23, [-0, -0, -0, -0]);
    // The JavaScript loop: the same values in plain arrays, which the kernel does not take.
    const want = t.softmax(new Tensor(Float32Array.from(x.data), [rows, n]), -1, false);
    const got = t.softmax(x, -1, false, Tensor.owned([rows, n], "float32"));
    assert.equal(firstDifference(got, want), -1, `n = ${n}`);
    // In place: the output is the input's own buffer.
    const same = Tensor.owned([rows, n], "float32");
    same.data.set(x.data);
    assert.equal(firstDifference(t.softmax(same, -1, false, same), want), -1, `in place, n = ${n}`);
  }
});

Deno.test("batched float32 products in one loop of WebAssembly calls (the engine's tensors, attention's sizes) give the product-by-product bits, every transpose; broadcast and odd shapes keep the loop", () => {
  const rand = seeded(13);
  const owned = (shape: Shape, scale = 1) => {
    const x = Tensor.owned(shape, "float32");
    for (let i = 0; i < x.size; i++) x.data[i] = (rand() * 2 - 1) * scale;
    x.data[3] = -0;
    return x;
  };
  // [batch, m, k, n]: attention's (32, 4) heads of 16 × 16, a rectangular one, and m = 6 (no
  // fast path: not a multiple of four), each product under the BLAS's size.
  const cases: [number[], number, number, number][] = [
    [[32, 4], 16, 16, 16],
    [[3], 8, 9, 12],
    [[2, 5], 12, 20, 4],
    [[4], 6, 16, 16],
  ];
  for (const [batch, m, k, n] of cases) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = owned([...batch, ...(transA ? [k, m] : [m, k])], 3);
        const b = owned([...batch, ...(transB ? [n, k] : [k, n])]);
        b.data[7] = NaN;
        const attrs = { transA, transB };
        // Product by product, on plain copies (matmul.ts's path for each).
        const want = Tensor.zeros([...batch, m, n], "float32"), count = want.size / (m * n);
        for (let i = 0; i < count; i++) {
          const block = (x: Tensor, r: number, c: number) =>
            new Tensor(x.data.slice(i * r * c, (i + 1) * r * c), [r, c]);
          const ai = block(a, a.shape.at(-2)!, a.shape.at(-1)!);
          const bi = block(b, b.shape.at(-2)!, b.shape.at(-1)!);
          want.data.set(t.matmul(ai, bi, attrs).data, i * m * n);
        }
        const before = t.matmulCounts.wasm;
        const got = t.batchedMatmul(a, b, attrs, Tensor.owned([...batch, m, n], "float32"));
        const what = `${batch} × ${m}×${k}×${n} ${transA ? "Aᵀ" : "A"} ${transB ? "Bᵀ" : "B"}`;
        assert.equal(firstDifference(got, want), -1, what);
        assert.equal(t.matmulCounts.wasm - before, count, `${what}: counted`);
      }
    }
  }
  // A broadcast batch (one A for every B) keeps the product-by-product loop: the same bits.
  const a = owned([1, 16, 16]), b = owned([5, 16, 16]), plain = { transA: false, transB: false };
  const want = Tensor.zeros([5, 16, 16], "float32");
  for (let i = 0; i < 5; i++) {
    const bi = new Tensor(b.data.slice(i * 256, (i + 1) * 256), [16, 16]);
    want.data.set(t.matmul(new Tensor(a.data.slice(), [16, 16]), bi, plain).data, i * 256);
  }
  assert.equal(firstDifference(t.batchedMatmul(a, b, plain), want), -1, "broadcast A");
});

Deno.test("float32 x^−1.5 (x^−½'s rule, as 1/(x·√x)) gives x ** −1.5 rounded to float32: a spread of every float32, ±0, ±Infinity, NaN, subnormals", () => {
  // tests/bench/pow_ulp.ts checks every float32; here every 65521st bit pattern and the edges.
  const bits = new Uint32Array(65536 + 8);
  for (let i = 0; i < 65536; i++) bits[i] = i * 65521;
  const x = new Tensor(new Float32Array(bits.buffer), [bits.length]);
  [0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4e38, -2].forEach((v, i) => x.data[65536 + i] = v);
  const y = t.pow(x, -1.5);
  for (let i = 0; i < x.size; i++) {
    const want = Math.fround(x.data[i] ** -1.5);
    assert.ok(Object.is(y.data[i], want), `x = ${x.data[i]}: ${y.data[i]}, want ${want}`);
  }
});

Deno.test("gelu's tanh form: the rule with the forward's kept tanh u (WebAssembly where its operands are the engine's) gives the bits of the rule that computes it", () => {
  const rand = seeded(5);
  // The engine's own tensors (Tensor.owned) of an even length take the WebAssembly kernel.
  const owned = (x: Tensor) => {
    const o = Tensor.owned(x.shape, "float32");
    o.data.set(x.data);
    return o;
  };
  for (const n of [1, 7, 300, 4097, 4096]) {
    const x = owned(random([n], "float32", rand, 6)), g = owned(random([n], "float32", rand));
    const keep = t.geluKeep(x, "tanh", undefined)!;
    const y = t.gelu(x, undefined, "tanh", keep);
    assert.equal(firstDifference(y, t.gelu(x, undefined, "tanh")), -1);
    const kept = t.geluBackward(g, x, Tensor.owned([n], "float32"), "tanh", y, keep);
    assert.equal(firstDifference(kept, t.geluBackward(g, x, undefined, "tanh", y)), -1);
    assert.equal(t.geluKeep(x, "none", undefined), undefined);
    assert.equal(t.geluKeep(x, "tanh", keep), keep);
  }
});

Deno.test("gelu's tanh form's forward on WebAssembly (one call for u, tanh u and the output) gives the JavaScript loops' bits, and keeps the same tanh u: ±0, NaN, ±Infinity, tiny and huge x", () => {
  const rand = seeded(9);
  const c = Math.sqrt(2 / Math.PI), special = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-38];
  special.push(1e-30, -3e-20, 9.5, -9.5, 20, -20, 1e13, -1e13, 3e38, -3e38, 0.5, -0.5);
  // The engine's tensors (Tensor.owned) of a length divisible by four take the kernel.
  for (const n of [4096, 4100, 4098, 20]) {
    const x = Tensor.owned([n], "float32");
    for (let i = 0; i < n; i++) {
      x.data[i] = i < special.length ? special[i] : (rand() * 2 - 1) * (i % 3 === 0 ? 40 : 6);
    }
    // activation.ts's loops, written out: u rounded to float32, tanh32, then the output.
    const u = new Float32Array(n), want = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = x.data[i];
      u[i] = tanh32(Math.fround(c * (v + 0.044715 * v * v * v)));
      want[i] = 0.5 * v * (1 + u[i]);
    }
    const keep = t.geluKeep(x, "tanh", undefined)!;
    const y = t.gelu(x, Tensor.owned([n], "float32"), "tanh", keep);
    assert.equal(firstDifference(y, new Tensor(want, [n])), -1, `output, n = ${n}`);
    assert.equal(firstDifference(keep, new Tensor(u, [n])), -1, `kept tanh u, n = ${n}`);
    // Without a buffer to keep tanh u in, the output's own holds it on the way.
    const alone = t.gelu(x, Tensor.owned([n], "float32"), "tanh");
    assert.equal(firstDifference(alone, new Tensor(want, [n])), -1, `no keep, n = ${n}`);
    // Plain arrays (not the kernels' memory) run the loops: the same bits.
    const plain = new Tensor(Float32Array.from(x.data), [n]);
    const y2 = t.gelu(plain, undefined, "tanh", new Tensor(new Float32Array(n), [n]));
    assert.equal(firstDifference(y2, new Tensor(want, [n])), -1, `plain arrays, n = ${n}`);
  }
});

Deno.test("maskedFill with a repeating mask (WebAssembly lane selects) gives the plain select's values: float32 and int32 masks, −0 and NaN in the mask, widths not a multiple of 4", () => {
  const rand = seeded(21);
  const cases: [Shape, Shape][] = [
    [[8, 4, 16, 16], [16, 16]],
    [[40, 7], [7]],
    [[3, 5, 6, 5], [6, 5]],
  ];
  for (const [shape, maskShape] of cases) {
    for (const dtype of ["float32", "int32"] as const) {
      const x = random(shape, "float32", rand, 3), mask = Tensor.zeros(maskShape, dtype);
      for (let i = 0; i < mask.size; i++) mask.data[i] = rand() < 0.5 ? 0 : 1;
      if (dtype === "float32") mask.data[0] = -0, mask.data[1] = NaN; // −0 keeps x, NaN fills
      const n = x.size, w = mask.size, at = new Int32Array(n).map((_, i) => i % w);
      for (const value of [-Infinity, 0.1, 0]) {
        const out = Tensor.owned(shape, "float32");
        maskedFill(x, mask, at, value, out);
        const dx = maskedFillBackward(x, mask, at);
        for (let i = 0; i < n; i++) {
          const filled = mask.data[i % w] !== 0;
          assert.ok(
            Object.is(out.data[i], filled ? Math.fround(value) : x.data[i]),
            `${shape} ${i}`,
          );
          assert.ok(Object.is(dx.data[i], filled ? 0 : x.data[i]), `${shape} dx ${i}`);
        }
      }
    }
  }
});

Deno.test("sum's and mean's rule over the last axis (a value per row splat, WebAssembly from 256 values) gives the plain loop's bits", () => {
  const rand = seeded(23);
  for (const [rows, width] of [[64, 4], [100, 3], [512, 64], [40, 7], [3, 5]]) {
    const g = random([rows, 1], "float32", rand, 5);
    g.data[0] = -0, g.data[1] = NaN;
    for (const scale of [1, 1 / width, 1 / 48]) {
      const got = t.expand(g, [rows, width], -1, scale);
      for (let i = 0; i < rows * width; i++) {
        const want = Math.fround(g.data[Math.floor(i / width)] * scale);
        assert.ok(Object.is(got.data[i], want), `${rows}×${width} ${scale} at ${i}`);
      }
    }
  }
});
