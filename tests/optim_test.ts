/**
 * The optimizers: SGD (plain, with momentum, with weight decay) and AdamW against their formulas
 * step by step, the learning-rate schedule, one propagation per step however many parameters
 * change, and the errors for what is not a parameter. (tests/torch_crosscheck.ts checks both
 * against torch.optim by hand.)
 */
import assert from "node:assert/strict";
import { Graph, mul, NinjagradError, optim, sum, Tensor } from "../mod.ts";
import { assertClose, values } from "./helpers.ts";

/** loss = Σ c·p for a fixed c: its gradient is c whatever p is. */
function linearLoss(p0: number[], c: number[]) {
  const g = new Graph({ dtype: "float64" });
  const p = g.param("p", Tensor.from(p0, "float64"));
  const loss = sum(mul(p, g.constant(Tensor.from(c, "float64")))).named("loss");
  return { g, p, loss };
}

Deno.test("SGD: p −= lr·g; with weight decay, g + wd·p; with momentum, buf = μ·buf + d", () => {
  const plain = linearLoss([1, -2], [0.5, 2]);
  const sgd = new optim.SGD([plain.p], { lr: 0.1 });
  sgd.step(plain.g.backward(plain.loss));
  assertClose(plain.p.value, [1 - 0.05, -2 - 0.2], 1e-15);

  const { g, p, loss } = linearLoss([1, -2], [0.5, 2]);
  const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  let want = [1, -2], buf = [0, 0];
  for (let step = 0; step < 3; step++) {
    opt.step(g.backward(loss));
    const d = want.map((w, i) => [0.5, 2][i] + 0.01 * w);
    buf = step === 0 ? d : buf.map((b, i) => 0.9 * b + d[i]);
    want = want.map((w, i) => w - 0.1 * buf[i]);
    assertClose(p.value, want, 1e-15);
  }
  assert.equal(opt.steps, 3);
});

Deno.test("float32 SGD takes torch.optim.SGD's very bits, with momentum and weight decay and without", () => {
  // tests/golden/sgd_float32.json: 5 steps of torch.optim.SGD on 256 float32 values.
  const golden = JSON.parse(
    Deno.readTextFileSync(new URL("golden/sgd_float32.json", import.meta.url)),
  );
  for (const c of golden.cases) {
    const g = new Graph(); // float32
    const p = g.param("p", Tensor.from(c.p0));
    const grad = g.input("grad", Tensor.from(c.grads[0]));
    const loss = sum(mul(p, grad)).named("loss"); // its gradient for p is `grad`, exactly
    const opt = new optim.SGD([p], { lr: c.lr, momentum: c.momentum, weightDecay: c.weight_decay });
    c.grads.forEach((gs: number[], step: number) => {
      g.set("grad", Tensor.from(gs));
      opt.step(g.backward(loss));
      const want = Float32Array.from(c.after[step]);
      const differ = [...p.value.data].filter((v, i) => v !== want[i]).length;
      assert.equal(differ, 0, `momentum ${c.momentum}, step ${step + 1}: ${differ} values differ`);
    });
  }
});

Deno.test("float32 AdamW takes torch.optim.AdamW's very bits, at its defaults and at others", () => {
  // tests/golden/adamw_float32.json: 6 steps of torch.optim.AdamW on 259 float32 values
  // (the WebAssembly kernel's quads and its one-by-one tail).
  const golden = JSON.parse(
    Deno.readTextFileSync(new URL("golden/adamw_float32.json", import.meta.url)),
  );
  for (const c of golden.cases) {
    const g = new Graph(); // float32
    const p = g.param("p", Tensor.from(c.p0));
    const grad = g.input("grad", Tensor.from(c.grads[0]));
    const loss = sum(mul(p, grad)).named("loss"); // its gradient for p is `grad`, exactly
    const opt = new optim.AdamW([p], {
      lr: c.lr,
      betas: c.betas,
      eps: c.eps,
      weightDecay: c.weight_decay,
    });
    c.grads.forEach((gs: number[], step: number) => {
      g.set("grad", Tensor.from(gs));
      opt.step(g.backward(loss));
      const want = Float32Array.from(c.after[step]);
      const differ = [...p.value.data].filter((v, i) => v !== want[i]).length;
      assert.equal(differ, 0, `lr ${c.lr}, step ${step + 1}: ${differ} values differ`);
    });
  }
});

Deno.test("AdamW: bias-corrected moments and decoupled weight decay, step by step", () => {
  const { g, p, loss } = linearLoss([1, -2], [0.5, -3]);
  const opt = new optim.AdamW([p], { lr: 0.01, betas: [0.8, 0.99], eps: 1e-8, weightDecay: 0.1 });
  let want = [1, -2], m = [0, 0], v = [0, 0];
  const grad = [0.5, -3];
  for (let t = 1; t <= 4; t++) {
    opt.step(g.backward(loss));
    want = want.map((w) => w * (1 - 0.01 * 0.1));
    m = m.map((x, i) => 0.8 * x + 0.2 * grad[i]);
    v = v.map((x, i) => 0.99 * x + 0.01 * grad[i] ** 2);
    want = want.map((w, i) => {
      const mh = m[i] / (1 - 0.8 ** t), vh = v[i] / (1 - 0.99 ** t);
      return w - 0.01 * mh / (Math.sqrt(vh) + 1e-8);
    });
    assertClose(p.value, want, 1e-15);
  }
});

Deno.test("a schedule gives each step its learning rate, as the lecture's 0.1 then 0.01", () => {
  const { g, p, loss } = linearLoss([0], [1]);
  const opt = new optim.SGD([p], { lr: (i) => (i < 2 ? 0.1 : 0.01) });
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    seen.push(opt.lr);
    opt.step(g.backward(loss));
  }
  assert.deepEqual(seen, [0.1, 0.1, 0.01, 0.01]);
  assertClose(p.value, [-0.22], 1e-15);
});

Deno.test("a step notifies the graph once: one forward pass however many parameters changed", () => {
  const g = new Graph({ dtype: "float64" });
  const params = [1, 2, 3].map((v, i) => g.param(`p${i}`, Tensor.from([v], "float64")));
  const loss = sum(mul(mul(params[0], params[1]), params[2])).named("loss");
  const seen: number[] = [];
  const sub = loss.value$.subscribe((v) => seen.push(v.item()));
  const opt = new optim.SGD(params, { lr: 0.1 });
  opt.step(g.backward(loss));
  sub.unsubscribe();
  // 6 before; then (1 − 0.6)(2 − 0.3)(3 − 0.2), heard once.
  assert.equal(seen.length, 2);
  assertClose(Tensor.from([seen[1]], "float64"), [0.4 * 1.7 * 2.8], 1e-14);
});

Deno.test("a parameter that received no gradient is left alone", () => {
  const g = new Graph({ dtype: "float64" });
  const used = g.param("used", Tensor.from([1], "float64"));
  const unused = g.param("unused", Tensor.from([5], "float64"));
  new optim.AdamW([used, unused]).step(g.backward(sum(mul(used, 2))));
  assert.deepEqual(values(unused.value), [5]);
  assert.notDeepEqual(values(used.value), [1]);
});

Deno.test("what is not a parameter, and a bad learning rate, are one-line errors", () => {
  const g = new Graph({ dtype: "float64" });
  const p = g.param("p", Tensor.from([1], "float64"));
  const h = mul(p, 2);
  const idx = g.input("idx", Tensor.from([0], "int32"));
  const says = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e) => e instanceof NinjagradError && re.test(e.message));
  says(
    () => new optim.SGD([p, h]),
    /params\[1\] \(mul#\d+\) is computed by mul: an optimizer updates float leaves/,
  );
  says(() => new optim.SGD([idx]), /params\[0\] \(idx\) is an int32 input/);
  says(() => new optim.SGD([]), /non-empty array of parameter nodes/);
  says(() => new optim.SGD([p, p]), /p is given twice/);
  says(() => new optim.SGD([p], { lr: -1 }), /lr must be a number ≥ 0, got -1/);
  says(() => new optim.AdamW([p], { betas: [0.9, 1] }), /betas\[1\] must be in \[0, 1\)/);
  const bad = new optim.SGD([p], { lr: () => NaN });
  says(() => bad.step(g.backward(sum(h))), /schedule gave NaN at step 0/);
});
