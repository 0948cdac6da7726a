/**
 * No stale value, ever: every way a user could change a leaf's data behind the graph's back (an
 * edit in place, a parameter shared with another graph and changed there, an optimizer's step, a
 * tensor reused after `set`) is seen before the next value is handed out, through `.value`, the
 * Observables and backward alike; and reading parameters in an update loop recomputes nothing.
 */
import assert from "node:assert/strict";
import {
  crossEntropy,
  type EngineEvent,
  Graph,
  linear,
  matmul,
  nn,
  type Node,
  optim,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { indices, rng, sameValues, uniform, values } from "./helpers.ts";

/** out = sum(tanh(x @ W + b)) and h = tanh(x @ W + b), in a float64 graph. */
function net(x: Tensor, W: Tensor, b: Tensor) {
  const g = new Graph({ dtype: "float64" });
  const X = g.input("x", x), Wn = g.param("W", W), bn = g.param("b", b);
  const h = tanh(linear(X, Wn, bn)).named("h");
  return { g, X, W: Wn, b: bn, h, out: sum(h).named("out") };
}

/** The same net built afresh on copies: what every value must equal. */
function fresh(x: Tensor, W: Tensor, b: Tensor) {
  return net(x.clone(), W.clone(), b.clone());
}

const start = (seed: string) => {
  const r = rng(seed);
  return { r, x: uniform(r, [4, 3]), W: uniform(r, [3, 5]), b: uniform(r, [5]) };
};

Deno.test("an input's data edited in place (t.data[i] = v), no changed(): the next read recomputes", () => {
  const { r, x, W, b } = start("in place");
  const n = net(x, W, b);
  n.out.value; // computed once
  x.data[0] = 3;
  x.data[7] = -2;
  const want = fresh(x, W, b);
  assert.ok(sameValues(n.h.value, want.h.value), "h is stale after x.data was edited");
  assert.ok(sameValues(n.out.value, want.out.value), "out is stale");
  // The same through the leaf's own tensor, and for a parameter.
  n.X.value.data[5] = 1.5;
  n.W.value.data[2] = uniform(r, [1]).data[0];
  const again = fresh(n.X.value, n.W.value, b);
  assert.ok(sameValues(n.out.value, again.out.value), "out is stale after W.data was edited");
});

Deno.test("a write through an array kept from before is seen once touch() or changed() says so", () => {
  const { x, W, b } = start("kept");
  const n = net(x, W, b);
  const kept = x.data; // read once, written later
  n.out.value;
  kept[1] = 4;
  x.touch();
  assert.ok(sameValues(n.out.value, fresh(x, W, b).out.value), "touch() was not seen");
  kept[2] = -4;
  n.g.changed(n.X);
  assert.ok(sameValues(n.out.value, fresh(x, W, b).out.value), "changed() was not seen");
});

Deno.test("backward after an in-place edit differentiates at the new values", () => {
  const { x, W, b } = start("backward");
  const n = net(x, W, b);
  n.g.backward(n.out);
  W.data[4] = 2;
  const grads = n.g.backward(n.out, { reuse: true });
  const want = fresh(x, W, b);
  const wantGrads = want.g.backward(want.out);
  assert.ok(sameValues(grads.get(n.W), wantGrads.get(want.W)), "dW is of the old W");
  assert.ok(sameValues(grads.get(n.b), wantGrads.get(want.b)), "db is of the old W");
});

Deno.test("a node built after an in-place edit and the nodes before it see the same values", () => {
  const { x, W, b } = start("build");
  const n = net(x, W, b);
  x.data[0] = 10;
  const twice = matmul(n.h, n.g.param("V", Tensor.full([5, 1], 2, "float64"))).named("twice");
  const want = fresh(x, W, b);
  const h = values(want.h.value);
  const rows = [0, 1, 2, 3].map((i) => 2 * h.slice(5 * i, 5 * i + 5).reduce((s, v) => s + v, 0));
  assert.ok(sameValues(n.h.value, want.h.value), "h is stale");
  values(twice.value).forEach((v, i) => assert.ok(Math.abs(v - rows[i]) < 1e-12, `row ${i}`));
});

Deno.test("a Tensor reused after set: editing it is seen; a tensor set before it no longer counts", () => {
  const { r, x, W, b } = start("reused");
  const n = net(x, W, b);
  const t1 = uniform(r, [4, 3]), t2 = uniform(r, [4, 3]);
  n.g.set(n.X, t1);
  n.out.value;
  t1.data[0] = 7; // the leaf holds t1 itself
  assert.ok(sameValues(n.out.value, fresh(t1, W, b).out.value), "an edit of t1 was missed");
  n.g.set(n.X, t2);
  t1.data[1] = 8; // t1 is no longer the leaf's
  assert.ok(sameValues(n.out.value, fresh(t2, W, b).out.value), "t1 still counts");
});

Deno.test("two graphs share a layer's parameters: an optimizer step in one is seen by the other", () => {
  const r = rng("shared");
  const model = new nn.Sequential([
    new nn.Linear(3, 8, { random: r }),
    new nn.Tanh(),
    new nn.Linear(8, 4, { random: r }),
  ]);
  const train = new Graph({ dtype: "float64" });
  const loss = crossEntropy(
    model.forward(train.input("X", uniform(r, [6, 3]))),
    train.input("Y", indices(r, [6], 4)),
  );
  const evalGraph = new Graph({ dtype: "float64" });
  const Xv = uniform(r, [5, 3]);
  const logits = model.forward(evalGraph.input("X", Xv));
  const before = values(logits.value);
  const opt = new optim.SGD(model.parameters(train), { lr: 0.5 });
  opt.step(train.backward(loss));
  // Built afresh from the layer's (updated) tensors: the eval graph must give these.
  const check = new Graph({ dtype: "float64" });
  const want = model.forward(check.input("X", Xv.clone()));
  assert.ok(!sameValues(want.value, Tensor.from(before, "float64")), "the step changed nothing");
  assert.ok(sameValues(logits.value, want.value), "the eval graph gives the old weights' logits");
});

Deno.test("set on a parameter in one graph: another graph sharing it sees the new values", () => {
  const { r, x, W, b } = start("set shared");
  const a = net(x, W, b), c = net(uniform(r, [2, 3]), W, b);
  const W2 = uniform(r, [3, 5]);
  a.g.set(a.W, W2);
  assert.ok(a.W.value === W && c.W.value === W, "the parameter's tensor was replaced");
  assert.ok(sameValues(W, W2), "set did not write the parameter's elements");
  assert.ok(sameValues(c.h.value, fresh(c.X.value, W2, b).h.value), "the other graph is stale");
});

Deno.test("observers hear an in-place edit at the next read, once, with every value new", () => {
  const { x, W, b } = start("observed");
  const n = net(x, W, b);
  const seen: { out: number; h: number[] }[] = [];
  const sub = n.out.value$.subscribe((t) => seen.push({ out: t.data[0], h: values(n.h.value) }));
  assert.equal(seen.length, 1);
  x.data[3] = 5;
  const want = fresh(x, W, b);
  // A late subscriber gets the value as it is now, and the first one hears it once.
  let late: number | undefined;
  n.out.value$.subscribe((t) => (late ??= t.data[0])).unsubscribe();
  assert.equal(late, want.out.value.data[0], "a late subscriber got the stale value");
  assert.equal(seen.length, 2, `heard ${seen.length - 1} times`);
  assert.equal(seen[1].out, want.out.value.data[0]);
  assert.deepEqual(seen[1].h, values(want.h.value), "h was old when out was new");
  sub.unsubscribe();
});

Deno.test("reading and updating parameters in a training loop recomputes nothing extra", () => {
  const { r, x, W, b } = start("loop");
  const n = net(x, W, b);
  const forwards: Node[] = [];
  const sub = n.g.events$.subscribe((e: EngineEvent) =>
    e.type === "forward" && forwards.push(e.node)
  );
  for (let step = 0; step < 3; step++) {
    forwards.length = 0;
    n.g.set(n.X, uniform(r, [4, 3]));
    const once = forwards.length;
    assert.equal(once, 3, "a propagation recomputes linear, tanh and sum once each");
    const grads = n.g.backward(n.out, { reuse: true });
    for (const p of [n.W, n.b]) {
      const d = p.value.data, gd = grads.get(p)!.data;
      for (let i = 0; i < d.length; i++) d[i] -= 0.1 * gd[i];
    }
    assert.equal(forwards.length, once, "reading parameters mid-update recomputed the graph");
    n.out.value;
    assert.equal(forwards.length, 2 * once, "the read after the update recomputed other than once");
  }
  sub.unsubscribe();
});

Deno.test("a node's value kept from an earlier read is brought up to date when its data is read", () => {
  const { x, W, b } = start("kept value");
  const n = net(x, W, b);
  const h = n.h.value, out = n.out.value; // tensors, kept
  const forwards: Node[] = [];
  const sub = n.g.events$.subscribe((e: EngineEvent) =>
    e.type === "forward" && forwards.push(e.node)
  );
  x.data[2] = -3;
  const want = fresh(x, W, b);
  let sum = 0;
  for (let i = 0; i < h.size; i++) sum += h.data[i]; // one recompute, not one per element
  assert.equal(forwards.length, 3, `${forwards.length} forwards`);
  assert.ok(sameValues(h, want.h.value), "the kept h is stale");
  assert.equal(out.data[0], want.out.value.data[0], "the kept out is stale");
  assert.ok(Math.abs(sum - want.out.value.data[0]) < 1e-12);
  sub.unsubscribe();
});
