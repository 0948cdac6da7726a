/**
 * `ninja check FILE --charts DIR`: the learner's graph is drawn with each node's verdict. A
 * learner who forgets to multiply dnorm_logits by dcounts sees norm_logits marked "differs" and
 * named first divergent; every other compared node is exact; blank rules show as "not written".
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkRules } from "../exercises/ninja/check.ts";
import { loadLearnerFile } from "../exercises/ninja/source.ts";
import { verdictsFromCheck } from "../exercises/cli/ninja_charts.ts";
import { runScript } from "./helpers.ts";

const CHAIN_RULE = new URL("./fixtures/ninja/ex1/chain_rule_dnorm_logits.ts", import.meta.url);

/** The node data of a written gradient-flow graph, by node name. */
async function graphNodes(dir: string): Promise<Map<string, Record<string, unknown>>> {
  const spec = JSON.parse(await Deno.readTextFile(join(dir, "gradient_flow_graph.vl.json")));
  const found = new Map<string, Record<string, unknown>>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (typeof x !== "object" || x === null) return;
    const o = x as Record<string, unknown>;
    if (Array.isArray(o.values)) {
      for (const v of o.values as Record<string, unknown>[]) {
        if (v && typeof v === "object" && "verdict" in v && typeof v.name === "string") {
          found.set(v.name, v);
        }
      }
    }
    Object.values(o).forEach(walk);
  };
  walk(spec);
  return found;
}

Deno.test("a check report becomes the charts' verdicts: ok → exact, wrong → differs, blank → not written", async () => {
  const file = await loadLearnerFile(CHAIN_RULE.pathname, { typecheck: false });
  const report = await checkRules(file.rules, { exercise: 1, file: file.url });
  const v = verdictsFromCheck(report);
  assert.equal(v.firstDivergent, "norm_logits");
  assert.equal(v.nodes.norm_logits.status, "differs");
  const others = Object.entries(v.nodes).filter(([name]) => name !== "norm_logits");
  assert.equal(others.length, 25);
  for (const [name, n] of others) assert.equal(n.status, "exact", name);

  const blank = await checkRules({}, { exercise: 1 });
  const b = verdictsFromCheck(blank);
  assert.equal(b.firstDivergent, undefined);
  assert.deepEqual(new Set(Object.values(b.nodes).map((n) => n.status)), new Set(["not written"]));
});

Deno.test("ninja check FILE --charts DIR draws the learner's graph with the wrong node marked first divergent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninja-charts-" });
  try {
    const r = await runScript(
      "exercises/cli/ninja.ts",
      ...["check", CHAIN_RULE.pathname, "--charts", dir, "--json", "--no-check"],
    );
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.firstWrong, "norm_logits");
    assert.equal(out.charts.report, join(dir, "report.html"));
    const nodes = await graphNodes(dir);
    assert.equal(nodes.get("norm_logits")?.status, "differs");
    assert.equal(nodes.get("counts")?.status, "exact");
    const spec = await Deno.readTextFile(join(dir, "gradient_flow_graph.vl.json"));
    assert.match(spec, /first divergent: dnorm_logits/);
    const png = await Deno.readFile(join(dir, "gradient_flow_graph.png"));
    const width = new DataView(png.buffer, png.byteOffset).getUint32(16);
    assert.ok(width <= 1800, `the graph is ${width} px wide`);
    for (const name of ["comparison", "gradient_flow_graph", "first_wrong_difference"]) {
      assert.ok((await Deno.stat(join(dir, `${name}.svg`))).size > 0, name);
    }
    // The hint is in the picture, over as many lines as it takes, not only in the table.
    const detail = out.nodes.find((n: { name: string }) => n.name === "norm_logits").detail;
    const svg = await Deno.readTextFile(join(dir, "gradient_flow_graph.svg"));
    const text = [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)</g)].map((m) => m[1]).join(" ")
      .replace(/&#39;/g, "'").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
      .replace(/\s+/g, " ");
    assert.ok(text.includes(`hint: ${detail.replace(/\s+/g, " ")}`), `${detail}\n${text}`);
    // The heatmap of yours − reference is of the first wrong node, every entry of it.
    const heat = JSON.parse(await Deno.readTextFile(join(dir, "first_wrong_difference.vl.json")));
    assert.match(JSON.stringify(heat.title), /dnorm_logits: yours − reference/);
    assert.equal(heat.data.values.length, 32 * 27);
    assert.ok(heat.data.values.some((c: { diff: number }) => c.diff !== 0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
