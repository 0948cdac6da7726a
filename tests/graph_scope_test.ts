/**
 * Scopes: a node remembers the scopes open when it was made (graph.scope), nested and numbered
 * per call, and nn modules' forward opens one under their PyTorch name, which charts group by.
 */
import assert from "node:assert/strict";
import { Graph, nn, seededRandom, tanh, Tensor } from "../mod.ts";
import { gruGraph, transformerGraph } from "./fixtures/makemore_models.ts";

Deno.test("graph.scope: nodes made inside carry the open scopes; a path opened again is numbered", () => {
  const g = new Graph();
  const x = g.input("x", Tensor.from([1, 2]));
  const inside = g.scope("step", () => g.scope("cell", () => tanh(x)));
  const again = g.scope("step", () => tanh(x));
  const outside = tanh(x);
  assert.deepEqual(inside.scope, ["step", "step.cell"]);
  assert.deepEqual(again.scope, ["step#2"]);
  assert.deepEqual(outside.scope, []);
  assert.deepEqual(x.scope, []);
  assert.deepEqual(g.scopes, []);
  // A scope is closed even when its function throws.
  assert.throws(() =>
    g.scope("bad", () => {
      throw new Error("boom");
    }), /boom/);
  assert.deepEqual(g.scopes, []);
});

Deno.test("nn modules open a scope per forward under their PyTorch names", () => {
  const g = new Graph({ dtype: "float64" });
  const net = new nn.Sequential([new nn.Linear(3, 4, { random: seededRandom(1) }), new nn.Tanh()]);
  const out = net.forward(g.input("x", Tensor.zeros([2, 3], "float64")));
  assert.deepEqual(out.scope, ["1"]);
  assert.deepEqual(g.node("0.weight").scope, ["0"]);
  const t = transformerGraph();
  const scopes = new Set(t.graph.nodes.map((n) => n.scope.join(" > ")));
  assert.ok(
    scopes.has("transformer.h.0 > transformer.h.0.attn > transformer.h.0.attn.c_attn"),
    [...scopes].join("\n"),
  );
  assert.ok(scopes.has("transformer.h.3 > transformer.h.3.mlp > transformer.h.3.mlp.c_proj"));
  // The GRU's cell runs once per time step: a scope per call, cell, cell#2, … cell#16.
  const gru = gruGraph();
  const calls = new Set(
    gru.graph.nodes.map((n) => n.scope[0]).filter((s) => s?.startsWith("cell")),
  );
  assert.equal(calls.size, 16);
  assert.ok(calls.has("cell#16"));
  assert.ok(gru.graph.nodes.some((n) => n.scope.join(" > ") === "cell#7 > cell#7.xh_to_z"));
});
