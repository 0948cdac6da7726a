/**
 * Reactivity: setting a leaf recomputes what lies downstream once, in order, and observers see
 * only consistent values; batches land at once; events and gradients are Observables.
 */
import assert from "node:assert/strict";
import {
  add,
  type EngineEvent,
  exp,
  Graph,
  kernels,
  mul,
  type Node,
  sum,
  tanh,
  Tensor,
} from "../mod.ts";
import { values } from "./helpers.ts";

const vec = (xs: number[]) => Tensor.from(xs, "float64");

/** The diamond a→b, a→c, b+c→d, with an extra leaf x feeding d's consumer. */
function diamond() {
  const g = new Graph({ dtype: "float64" });
  const a = g.param("a", vec([1, 2]));
  const x = g.param("x", vec([10, 20]));
  const b = mul(a, 2).named("b");
  const c = add(a, 1).named("c");
  const d = add(b, c).named("d");
  const e = mul(d, x).named("e");
  return { g, a, x, b, c, d, e };
}

/** Records, at each emission, `node`'s values and those of the nodes it depends on. */
function record(node: Node, also: Node[] = []) {
  const seen: number[][][] = [];
  const subscription = node.value$.subscribe((v) => {
    seen.push([[...v.data], ...also.map((n) => values(n.value))]);
  });
  return { seen, subscription };
}

Deno.test("setting a in the diamond makes d emit once, with b and c already new", () => {
  const { g, a, b, c, d } = diamond();
  const { seen } = record(d, [b, c]);
  assert.equal(seen.length, 1); // the BehaviorSubject's current value
  g.set(a, vec([5, -1]));
  assert.equal(seen.length, 2);
  const [dv, bv, cv] = seen[1];
  assert.deepEqual(bv, [10, -2]);
  assert.deepEqual(cv, [6, 0]);
  assert.deepEqual(dv, [16, -2]);
});

Deno.test("a subscriber of b that reads c, d and e inside its callback sees their new values", () => {
  // No glitch even for a node early in the order: b emits only once every node is recomputed,
  // so what its observer reads anywhere in the graph is all of this round.
  const { g, a, b, c, d, e } = diamond();
  const seen: number[][][] = [];
  const sub = b.value$.subscribe((v) => {
    seen.push([[...v.data], values(c.value), values(d.value), values(e.value)]);
  });
  g.set(a, vec([5, -1]));
  sub.unsubscribe();
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[1], [[10, -2], [6, 0], [16, -2], [160, -40]]);
});

Deno.test("a batch of two leaf changes emits once", () => {
  const { g, a, x, d, e } = diamond();
  const { seen } = record(e, [d]);
  g.batch(() => {
    g.set(a, vec([0, 1]));
    g.set(x, vec([2, 3]));
  });
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[1], [[2, 12], [1, 4]]);
  g.run({ a: vec([1, 1]), x: vec([1, 1]) }); // run() batches too
  assert.equal(seen.length, 3);
});

Deno.test("unsubscribing stops emissions; nobody subscribed means graph.observed is false", () => {
  const { g, a, d } = diamond();
  assert.equal(g.observed, false);
  const { seen, subscription } = record(d);
  const events = g.events$.subscribe(() => {});
  assert.equal(g.observed, true);
  g.set(a, vec([3, 3]));
  subscription.unsubscribe();
  events.unsubscribe();
  assert.equal(g.observed, false);
  g.set(a, vec([4, 4]));
  assert.equal(seen.length, 2);
  assert.deepEqual(values(d.value), [13, 13]); // still recomputed, just not announced
});

Deno.test("events$ reports forward and backward per node, which rule ran, and override changes", () => {
  const { g, a, b, d } = diamond();
  const events: EngineEvent[] = [];
  const sub = g.events$.subscribe((e) => events.push(e));
  const said = () => events.splice(0).map(describe);

  g.set(a, vec([0, 0]));
  // Only what lies downstream of a, in order; the leaf x is not recomputed.
  assert.deepEqual(said(), ["forward b", "forward c", "forward d", "forward e"]);

  const ones = { seed: vec([1, 1]) }; // d is not a single number: backward needs its seed
  g.backward(d, ones);
  assert.deepEqual(said(), [
    "backward d.a auto",
    "backward d.b auto",
    "backward c.a auto",
    "backward b.a auto",
  ]);

  const undo = g.override(b, { a: ({ g: up }) => kernels.mul(up, 2) });
  assert.deepEqual(said(), ["override b set"]);
  g.backward(d, ones);
  assert.ok(said().includes("backward b.a override"));
  undo();
  assert.deepEqual(said(), ["override b removed"]);
  g.backward(d, ones);
  assert.ok(said().includes("backward b.a auto"));
  sub.unsubscribe();
});

function describe(e: EngineEvent): string {
  switch (e.type) {
    case "forward":
      return `forward ${e.node.name}`;
    case "backward":
      return `backward ${e.node.name}.${e.input} ${e.rule}`;
    case "override":
      return `override ${e.node.name} ${e.action}`;
    case "anomaly":
      return `anomaly ${e.node.name}`;
  }
}

Deno.test("grad$ emits the node's gradient after each backward", () => {
  const g = new Graph({ dtype: "float64" });
  const x = g.param("x", vec([0.5, -1]));
  const loss = sum(mul(tanh(x), exp(x))).named("loss");
  const seen: number[][] = [];
  const sub = x.grad$.subscribe((t) => seen.push([...t.data]));
  assert.equal(seen.length, 0);
  const grads = g.backward(loss);
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0], values(grads.get(x)));
  g.compare(loss); // compare's internal passes are not announced
  assert.equal(seen.length, 1);
  g.backward(loss);
  assert.equal(seen.length, 2);
  sub.unsubscribe();
});
