/**
 * The finished parts together, through the commands a learner types: `deno task train --charts`,
 * `deno task exercise 4` and `deno task chart exercise N`, on a small fixture so that they run in
 * seconds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EX4_NODES, PARAM_NAMES } from "../exercises/model/ex4.ts";
import { setupExercise } from "../exercises/setup.ts";
import { firstStepComparison } from "../exercises/train/run.ts";
import { lectureNames, ROOT, runScript, type ScriptResult, tempNamesFile } from "./helpers.ts";

/** The fixture: the first 200 names of the lecture's file, as a names file of its own. */
const FIXTURE = await tempNamesFile(await lectureNames(200));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Asserts NAME.vl.json, NAME.svg and NAME.png are in `dir`, non-empty, each what it says. */
async function assertChartFiles(dir: string, name: string): Promise<void> {
  const spec = JSON.parse(await Deno.readTextFile(join(dir, `${name}.vl.json`)));
  assert.match(spec.$schema, /vega-lite/, `${name}.vl.json is not a Vega-Lite spec`);
  const svg = await Deno.readTextFile(join(dir, `${name}.svg`));
  assert.ok(svg.length > 100 && svg.includes("<svg"), `${name}.svg is not an SVG`);
  const png = await Deno.readFile(join(dir, `${name}.png`));
  assert.ok(png.length > 1000, `${name}.png has ${png.length} bytes`);
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE, `${name}.png is not a PNG`);
}

/** The graph nodes a gradient-flow spec marks as hand-written. */
function handWrittenNodes(spec: { layer: { data?: { values?: unknown[] } }[] }): string[] {
  const names = new Set<string>();
  for (const layer of spec.layer) {
    for (const v of layer.data?.values ?? []) {
      const node = v as { name?: string; overridden?: boolean };
      if (node.overridden === true && node.name) names.add(node.name);
    }
  }
  return [...names].sort();
}

Deno.test("deno task train --charts DIR writes every training chart in three formats and report.html", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runScript(
      "exercises/cli/train.ts",
      ...["--data", FIXTURE, "--steps", "300", "--hidden", "32", "--eval-every", "100"],
      ...["--quiet", "--charts", dir],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`charts .* written to ${dir}`));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    const charts = names.filter((n) => n.endsWith(".vl.json")).map((n) => n.slice(0, -8));
    assert.ok(charts.length >= 6, `only ${charts.length} charts: ${charts}`);
    for (const want of ["loss", "update_ratio", "gradient_per_parameter", "gradient_flow_graph"]) {
      assert.ok(charts.includes(want), `no ${want} chart among ${charts}`);
    }
    for (const name of charts) await assertChartFiles(dir, name);
    const report = await Deno.readTextFile(join(dir, "report.html"));
    for (const name of charts) assert.ok(report.includes(name), `report.html lacks ${name}`);
    // The last step's graph: every op node ran its hand-written rule, and the chart says so.
    const flow = JSON.parse(await Deno.readTextFile(join(dir, "gradient_flow_graph.vl.json")));
    assert.deepEqual(handWrittenNodes(flow), [...EX4_NODES].sort());
    // The loss chart holds every one of the 300 steps' losses.
    const loss = await Deno.readTextFile(join(dir, "loss.vl.json"));
    assert.match(loss, /"step": ?300\b/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Runs `deno task train ARGS` itself (the task's own flags included) from the folder `cwd`, as a
 * user's shell would: without the INIT_CWD that `deno task test` set, which `deno task` keeps.
 */
async function trainTask(cwd: string, ...args: string[]): Promise<ScriptResult> {
  const { INIT_CWD: _, ...env } = Deno.env.toObject();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", join(ROOT, "deno.json"), "train", ...args],
    cwd,
    clearEnv: true,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("deno task train writes its charts into charts/ where it was run; --no-charts writes none", async () => {
  const here = await Deno.makeTempDir();
  try {
    const small = ["--data", FIXTURE, "--steps", "200", "--hidden", "16", "--eval-every", "0"];
    const r = await trainTask(here, ...small, "--quiet");
    assert.equal(r.code, 0, r.stderr);
    const charts = join(here, "charts");
    assert.match(
      r.stdout,
      new RegExp(`charts .* written to ${charts} as .*; open ${charts}/report.html`),
    );
    await assertChartFiles(charts, "loss");
    await assertChartFiles(charts, "gradient_flow_graph");
    await Deno.remove(charts, { recursive: true });

    const none = await trainTask(here, ...small, "--quiet", "--no-charts");
    assert.equal(none.code, 0, none.stderr);
    assert.doesNotMatch(none.stdout, /charts/);
    assert.deepEqual([...Deno.readDirSync(here)].map((e) => e.name), []);
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});

Deno.test("deno task train --charts into a path that cannot be a folder fails before training", async () => {
  const file = await Deno.makeTempFile();
  try {
    const r = await runScript("exercises/cli/train.ts", "--data", FIXTURE, "--charts", `${file}/x`);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /^error: cannot write charts to .*; give --charts DIR .* or --no-charts$/,
    );
    const onFile = await runScript("exercises/cli/train.ts", "--data", FIXTURE, "--charts", file);
    assert.equal(onFile.code, 1);
    assert.equal(
      onFile.stderr.trim(),
      `error: cannot write charts to ${file}: it is a file, not a folder; give --charts DIR for ` +
        "another folder, or --no-charts",
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("deno task exercise 4 --json: every parameter's hand-written gradient approximates the automatic one, then a short run", async () => {
  const r = await runScript(
    "exercises/cli/exercise.ts",
    ...["4", "--data", FIXTURE, "--steps", "200", "--json"],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /200 steps with the hand-written backward only/);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  type Row = { name: string; approximate: boolean; shapeMatch: boolean; maxdiff: number };
  const rows: Row[] = last.rows;
  for (const name of PARAM_NAMES) {
    const row = rows.find((x) => x.name === name);
    assert.ok(row, `no row for ${name}`);
  }
  const off = rows.filter((x) => !x.approximate || !x.shapeMatch).map((x) => x.name);
  assert.deepEqual(off, [], JSON.stringify(rows));
  assert.equal(last.passed, true);
  assert.equal(last.run.steps, 200);
  assert.equal(last.run.curve.length, 10);
  // A short run still learns: the last tenth's minibatch loss is below the first tenth's.
  assert.ok(last.run.curve[9].loss < last.run.curve[0].loss, JSON.stringify(last.run.curve));
  assert.ok(last.run.train > 0 && last.run.val > 0);
});

Deno.test("exercise 4's setup is the first step of the run: its cmp equals firstStepComparison's", async () => {
  const setup = await setupExercise(4, { data: FIXTURE });
  const { config, data } = setup.training!;
  const first = firstStepComparison(config, data);
  assert.deepEqual(
    setup.comparison.rows.map((r) => [r.name, r.maxdiff]),
    first.rows.map((r) => [r.name, r.maxdiff]),
  );
});

for (const n of ["1", "4"]) {
  Deno.test(`deno task chart exercise ${n} --out DIR writes the gradient-flow graph with its hand-written nodes`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await runScript(
        "exercises/cli/chart.ts",
        "exercise",
        n,
        "--out",
        dir,
        "--data",
        FIXTURE,
      );
      assert.equal(r.code, 0, r.stderr);
      await assertChartFiles(dir, "gradient_flow_graph");
      await assertChartFiles(dir, "comparison");
      const flow = JSON.parse(await Deno.readTextFile(join(dir, "gradient_flow_graph.vl.json")));
      const marked = handWrittenNodes(flow);
      if (n === "4") assert.deepEqual(marked, [...EX4_NODES].sort());
      else assert.ok(marked.length >= 20, `only ${marked.length} hand-written nodes: ${marked}`);
      assert.ok((await Deno.stat(join(dir, "report.html"))).size > 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
