/**
 * The lecture's notebook (exercises/notebook/backprop_ninja.ipynb) runs top to bottom on Deno's
 * Jupyter kernel. Blank, as a learner opens it: every cmp table says what to write next and the
 * training cell says exercise 4 is not done. With the reference rules in the cells marked for the
 * learner: every cmp table is ok, each chart comes out as a Vega-Lite and an SVG bundle, and a
 * short training run (NINJAGRAD_NOTEBOOK_STEPS) uses the learner's rules only.
 *
 * Needs Python's jupyter_client and nbformat (Debian: python3-jupyter-client, python3-nbformat;
 * .ci/run installs them); the kernel is registered in a folder of the test's own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "./helpers.ts";

const NOTEBOOK = join(ROOT, "exercises/notebook/backprop_ninja.ipynb");
const PYTHON = "/usr/bin/python3";
const RUNNER = fileURLToPath(new URL("run_notebook.py", import.meta.url));
const STEPS = 300;

interface Output {
  output_type: string;
  text?: string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[]; ninjagrad?: { workbench: string; lines: string[] } };
  outputs?: Output[];
}
interface Notebook {
  cells: Cell[];
}

const text = (s: string | string[]) => (Array.isArray(s) ? s.join("") : s);
const tagged = (nb: Notebook, tag: string) =>
  nb.cells.filter((c) => c.cell_type === "code" && c.metadata.tags?.includes(tag));
/** What a cell showed: its streams' text and its results' text/plain, in order. */
const shown = (c: Cell) =>
  (c.outputs ?? []).map((o) => o.text ?? text((o.data?.["text/plain"] ?? "") as string)).join("");

/** The notebook with the reference rules in every cell marked for the learner. */
function withReference(nb: Notebook): Notebook {
  const cells = nb.cells.map((c) => {
    const m = c.metadata.ninjagrad;
    return m
      ? {
        ...c,
        source: `${m.workbench}.write(${m.workbench}.reference(${JSON.stringify(m.lines)}));`,
      }
      : c;
  });
  return { ...nb, cells };
}

/** Runs a notebook on the Deno kernel, in the notebook's folder, and returns it with its outputs. */
async function execute(nb: Notebook, dir: string, name: string): Promise<Notebook> {
  const input = join(dir, `${name}.ipynb`), output = join(dir, `${name}.out.ipynb`);
  await Deno.writeTextFile(input, JSON.stringify(nb));
  const run = await new Deno.Command(PYTHON, {
    args: [RUNNER, input, join(ROOT, "exercises/notebook"), output],
    env: {
      JUPYTER_PATH: join(dir, "jupyter"),
      JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
      NINJAGRAD_NOTEBOOK_STEPS: String(STEPS),
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, `running ${name} failed:\n${err}`);
  return JSON.parse(await Deno.readTextFile(output));
}

Deno.test("the notebook runs top to bottom, blank and with the reference rules", async (t) => {
  const probe = await new Deno.Command(PYTHON, {
    args: ["-c", "import jupyter_client, nbformat"],
    stderr: "piped",
  }).output().catch(() => undefined);
  assert.equal(
    probe?.code,
    0,
    `${PYTHON} cannot import jupyter_client and nbformat: install python3-jupyter-client and ` +
      "python3-nbformat (apt-get), as .ci/run does",
  );
  const dir = await Deno.makeTempDir({ prefix: "ninja-notebook-" });
  // The kernelspec `deno jupyter --install` writes, in a folder of this test's own.
  await Deno.mkdir(join(dir, "jupyter/kernels/deno"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "jupyter/kernels/deno/kernel.json"),
    JSON.stringify({
      argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
      display_name: "Deno",
      language: "typescript",
    }),
  );
  const notebook: Notebook = JSON.parse(await Deno.readTextFile(NOTEBOOK));
  assert.equal(
    tagged(notebook, "learner").length,
    7,
    "the exercises' cells are marked for the learner",
  );
  // The two runs at once: each is mostly waiting on its own kernel.
  const [blank, filled] = await Promise.all([
    execute(notebook, dir, "blank"),
    execute(withReference(notebook), dir, "filled"),
  ]);
  await Deno.remove(dir, { recursive: true });

  for (const [name, nb] of [["blank", blank], ["filled", filled]] as const) {
    const errors = nb.cells.flatMap((c) =>
      (c.outputs ?? []).filter((o) => o.output_type === "error")
    );
    assert.deepEqual(errors.map((e) => `${e.ename}: ${e.evalue}`), [], `${name}: no cell fails`);
  }

  await t.step(
    "blank: each cmp table says what to write; training says exercise 4 is not done",
    () => {
      const cmp = tagged(blank, "cmp").map(shown);
      assert.equal(cmp.length, 7);
      for (const table of cmp.slice(0, 4)) {
        assert.match(
          table,
          /26 gradients: 0 ok, 0 wrong, 26 not written \(0 of 30 rules written\)/,
        );
        assert.match(table, /next to write: logprobs/);
      }
      assert.match(cmp[4], /1 gradient: 0 ok, 0 wrong, 1 not written.*\nnext to write: logits/);
      assert.match(cmp[5], /next to write: hprebn/);
      assert.match(cmp[6], /13 gradients: 0 ok, 0 wrong, 13 not written/);
      const train = tagged(blank, "train").map(shown).join("\n");
      assert.match(train, /exercise 4 is not done: 13 gradients: 0 ok, 0 wrong, 13 not written/);
    },
  );

  await t.step(
    "filled: the cmp table after each part, ok; the lecture's data and forward pass",
    () => {
      const cmp = tagged(filled, "cmp").map(shown);
      const counts = cmp.map((table) =>
        /\d+ gradients?: \d+ ok, \d+ wrong, \d+ not written/.exec(table)?.[0]
      );
      assert.deepEqual(counts, [
        "26 gradients: 8 ok, 0 wrong, 18 not written",
        "26 gradients: 12 ok, 0 wrong, 14 not written",
        "26 gradients: 21 ok, 0 wrong, 5 not written",
        "26 gradients: 26 ok, 0 wrong, 0 not written",
        "1 gradient: 1 ok, 0 wrong, 0 not written",
        "1 gradient: 1 ok, 0 wrong, 0 not written",
        "13 gradients: 13 ok, 0 wrong, 0 not written",
      ]);
      assert.match(cmp[3], /^C +ok +exact$/m);
      assert.match(cmp[4], /^logits +ok +maxdiff \d\.\de-9 \(relative \d\.\de-\d\)$/m);
      const all = filled.cells.map(shown).join("\n");
      assert.match(all, /32,033 names/);
      assert.match(all, /train 182,625 {2}val 22,655 {2}test 22,866 examples/);
      assert.match(all, /^hpreact +\(32, 64\) +add$/m);
    },
  );

  await t.step("filled: every chart is a Vega-Lite and an SVG bundle", () => {
    const charts = tagged(filled, "chart");
    assert.equal(charts.length, 4);
    for (const c of charts) {
      const data = c.outputs?.find((o) => o.output_type === "execute_result")?.data;
      assert.ok(data, `no result: ${text(c.source)}`);
      const spec = data["application/vnd.vegalite.v6+json"] as { $schema?: string };
      assert.match(spec.$schema ?? "", /vega-lite\/v6/);
      assert.match(String(data["image/svg+xml"]), /^<svg /);
    }
  });

  await t.step("filled: training runs with the learner's rules only", () => {
    const train = tagged(filled, "train").map(shown).join("\n");
    assert.match(train, new RegExp(`step ${STEPS}/${STEPS} {2}loss \\d\\.\\d{4}`));
    assert.match(train, new RegExp(`${STEPS} steps with your rules`));
    assert.match(
      train,
      new RegExp(
        `rules run: ${(STEPS * 13).toLocaleString("en")} hand-written \\(yours\\), 0 automatic`,
      ),
    );
    assert.match(train, /^train \d\.\d{4} {2}val \d\.\d{4}/m);
  });
});
