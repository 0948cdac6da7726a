/**
 * relu, sigmoid, gelu, sqrt and abs: finite-difference checks in float64 with a random non-unit
 * upstream gradient, each fed through a broadcasting add so that its input has a broadcast
 * history; forward values by hand; and the derivative at the kinks as PyTorch takes it.
 */
import assert from "node:assert/strict";
import {
  abs,
  add,
  gelu,
  Graph,
  kernels,
  mul,
  type Node,
  relu,
  sigmoid,
  sqrt,
  sum,
  Tensor,
} from "../mod.ts";
import { assertClose, assertGradcheck, rng, uniform, values } from "./helpers.ts";

type Unary = (x: Node) => Node;

/** op(x + b) for x (6, 5) and a bias b (5,) broadcast along the rows, gradchecked. */
function check(name: string, op: Unary, lo: number, hi: number): void {
  const rand = rng(name);
  const g = new Graph({ dtype: "float64" });
  // Inputs kept at least 0.05 from the kinks of relu and abs, where differences straddle them.
  const x = g.param("x", awayFromZero(uniform(rand, [6, 5], lo, hi)));
  const b = g.param("b", Tensor.zeros([5], "float64"));
  assertGradcheck(g, op(add(x, b)).named(name), rand);
  const col = g.param("col", uniform(rand, [6, 1], 0.5, 1.5));
  assertGradcheck(g, mul(op(x), col).named(`${name}_scaled`), rand);
}

function awayFromZero(t: Tensor): Tensor {
  for (let i = 0; i < t.size; i++) if (Math.abs(t.data[i]) < 0.05) t.data[i] += 0.1;
  return t;
}

Deno.test("relu, sigmoid, gelu, abs: gradcheck through a broadcast bias and a column scale", () => {
  check("relu", relu, -2, 2);
  check("sigmoid", sigmoid, -4, 4);
  check("gelu", gelu, -4, 4);
  check("abs", abs, -2, 2);
});

Deno.test("sqrt of positive values: gradcheck", () => check("sqrt", sqrt, 0.2, 3));

Deno.test("forward values: relu, sigmoid, the exact gelu, sqrt, abs", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([-2, -0.5, 0, 0.5, 2], "float64"));
  assert.deepEqual(values(relu(x).value), [0, 0, 0, 0.5, 2]);
  assertClose(sigmoid(x).value, [-2, -0.5, 0, 0.5, 2].map((v) => 1 / (1 + Math.exp(-v))), 1e-16);
  // x·Φ(x), Φ(2) = 0.9772498680518208 (the normal distribution's table), Φ(−2) = 1 − Φ(2).
  const phi2 = 0.9772498680518208, phiHalf = 0.6914624612740131;
  assertClose(
    gelu(x).value,
    [-2 * (1 - phi2), -0.5 * (1 - phiHalf), 0, 0.5 * phiHalf, 2 * phi2],
    1e-15,
  );
  assert.deepEqual(values(abs(x).value), [2, 0.5, 0, 0.5, 2]);
  const y = g.param("y", Tensor.from([0.25, 4, 9], "float64"));
  assert.deepEqual(values(sqrt(y).value), [0.5, 2, 3]);
});

Deno.test("at the kinks: relu'(0) = 0 and abs'(0) = 0, as PyTorch", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", Tensor.from([-1, 0, 1], "float64"));
  assert.deepEqual(values(g.backward(sum(relu(x))).get(x)), [0, 0, 1]);
  assert.deepEqual(values(g.backward(sum(abs(x))).get(x)), [-1, 0, 1]);
});

Deno.test("float32 graphs compute in double and round once", () => {
  const g = new Graph();
  const x = g.param("x", Tensor.from([-1.5, 0.25, 2]));
  // erf(x/√2) from Python's math.erf
  assert.deepEqual(values(gelu(x).value), [
    Math.fround(-1.5 * 0.5 * (1 + -0.8663855974622838)),
    Math.fround(0.25 * 0.5 * (1 + 0.19741265136584743)),
    Math.fround(2 * 0.5 * (1 + 0.9544997361036416)),
  ]);
  assert.equal(sigmoid(x).value.dtype, "float32");
});

/** erfc x for x ≥ 0 to a double's last digits: 1 − erf below 2.5, a continued fraction above. */
function erfcReference(x: number): number {
  if (x < 2.5) return 1 - kernels.erf(x);
  let f = x, c = x, d = 0;
  for (let k = 1; k < 5000; k++) {
    d = 1 / (x + (k / 2) * d);
    c = x + k / 2 / c;
    f *= c * d;
    if (Math.abs(c * d - 1) < 1e-17) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** gelu in double, relatively accurate in the negative tail too (x·erfc(−x/√2)/2). */
const geluReference = (v: number) =>
  v < 0
    ? v * 0.5 * erfcReference(-v * Math.SQRT1_2)
    : v * (1 - 0.5 * erfcReference(v * Math.SQRT1_2));

const f32bits = (v: number) => new Int32Array(new Float32Array([v]).buffer)[0];

Deno.test("gelu's float32 kernels: the exact form within 2 ulp, the tanh form within 2^-23·max(1, |x|)", () => {
  const n = 200_001, x32 = new Float32Array(n);
  for (let i = 0; i < n; i++) x32[i] = -14 + (28 * i) / (n - 1);
  const x = new Tensor(x32, [n]), x64 = new Tensor(Float64Array.from(x32), [n]);
  const exact = kernels.gelu(x, undefined, "none");
  let worstUlp = 0;
  for (let i = 0; i < n; i++) {
    const want = Math.fround(geluReference(x32[i]));
    if (Math.abs(want) < 1.2e-38) continue; // subnormal results: no ulp to speak of
    worstUlp = Math.max(worstUlp, Math.abs(f32bits(exact.data[i]) - f32bits(want)));
  }
  assert.ok(worstUlp <= 2, `exact gelu off by ${worstUlp} ulp`);
  const tanh32 = kernels.gelu(x, undefined, "tanh"), tanh64 = kernels.gelu(x64, undefined, "tanh");
  const g32 = Tensor.full([n], 1, "float32"), g64 = Tensor.full([n], 1, "float64");
  const relative = (a: Tensor, b: Tensor) => {
    let worst = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]) / Math.max(1, Math.abs(x32[i])));
    }
    return worst;
  };
  assert.ok(relative(tanh32, tanh64) <= 2 ** -23, `tanh gelu off by ${relative(tanh32, tanh64)}`);
  for (const approximate of ["none", "tanh"] as const) {
    const d32 = kernels.geluBackward(g32, x, undefined, approximate);
    const d64 = kernels.geluBackward(g64, x64, undefined, approximate);
    assert.ok(relative(d32, d64) <= 2 ** -22, `${approximate} gelu's gradient off`);
  }
});

Deno.test("the exact gelu's WebAssembly kernels give the JavaScript loops' very bits", () => {
  for (const n of [1, 2, 7, 4096, 4097]) {
    const x = Tensor.zeros([n], "float32"), g = Tensor.zeros([n], "float32");
    for (let i = 0; i < n; i++) {
      x.data[i] = n === 1 ? -9.5 : -12 + (24 * i) / (n - 1);
      g.data[i] = 0.5 + ((i * 37) % 11) / 7;
    }
    const y = kernels.gelu(x, undefined, "none");
    const dx = kernels.geluBackward(g, x, undefined, "none", y);
    for (let i = 0; i < n; i++) {
      const v = x.data[i], m = -0.5 * v * v;
      const pdf = kernels.expSeries(m < -708 ? -708 : m) * 0.3989422804014327;
      assert.equal(y.data[i], Math.fround(v * kernels.phi32(v)), `gelu(${v})`);
      // the rule reads Φ off the output: y/x, 0.5 at x ≈ 0
      const phi = Math.abs(v) > 1e-30 ? y.data[i] / v : 0.5;
      assert.equal(dx.data[i], Math.fround(g.data[i] * (phi + v * pdf)), `gelu'(${v})`);
    }
  }
});
