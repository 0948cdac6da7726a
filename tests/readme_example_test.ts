// The README's code is what a newcomer copies first: run every example, so that none can rot.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/**
 * Runs the ```ts block between `<!-- NAME:start -->` and `<!-- NAME:end -->` of README.md as a
 * script in a temporary folder (where it writes what it writes), its imports of "./mod.ts" and
 * "./viz/mod.ts" pointed at this checkout; returns its output and that folder.
 */
async function runReadmeBlock(name: string): Promise<{ text: string; dir: string }> {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const block = readme.split(`<!-- ${name}:start -->`)[1]?.split(`<!-- ${name}:end -->`)[0];
  assert.ok(block, `README.md has a block between the ${name} markers`);
  let code = block.split("```ts")[1].split("```")[0];
  for (const module of ["mod.ts", "viz/mod.ts"]) {
    code = code.replaceAll(`"./${module}"`, JSON.stringify(new URL(module, root).href));
  }
  const dir = await Deno.makeTempDir({ prefix: `ninjagrad-readme-${name}-` });
  const file = `${dir}/${name}.ts`;
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", file],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return { text: new TextDecoder().decode(out.stdout), dir };
}

Deno.test("the README's tour runs and prints what it says", async () => {
  const { text, dir } = await runReadmeBlock("tour");
  await Deno.remove(dir, { recursive: true });
  assert.match(text, /dW = /);
  assert.match(text, /^h +\| exact: True/m);
  assert.match(text, /every node agrees/);
  // The wrong rule on the unnamed h·h is blamed on that node, not on the named h it feeds.
  assert.match(text, /^first divergent node in backward order: h$/m);
  assert.match(text, /hand-written rule of mul#\d+ \(h · h\) for input a: check that rule first/);
  assert.match(text, /loss before and after: \d+\.\d{4} → \d+\.\d{4}/);
});

Deno.test("the README's 'Script your own graph' trains with layers and an optimizer, and charts it", async () => {
  const { text, dir } = await runReadmeBlock("script");
  try {
    const [, first, last] = text.match(/^loss (\d+\.\d+) → (\d+\.\d+)$/m) ?? [];
    assert.ok(Number(first) > 0.5 && Number(last) < 0.1, text);
    assert.match(text, /^\d+ charts written to charts\/; open charts\/report\.html$/m);
    for (const chart of ["loss", "update_ratio", "gradient_flow_graph", "activation_histograms"]) {
      assert.ok((await Deno.stat(`${dir}/charts/${chart}.png`)).size > 0, chart);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the README's 'Write your own op': a relu and an MSE pass gradcheck and compare", async () => {
  const { text, dir } = await runReadmeBlock("op");
  await Deno.remove(dir, { recursive: true });
  const error = Number(text.match(/^gradcheck max error: (\S+)$/m)?.[1]);
  assert.ok(error < 1e-6, text);
  assert.match(text, /^h +\| exact: True/m);
  assert.match(text, /every node agrees/);
});

Deno.test("the README's one graph trains on batches, evaluates a whole split and samples", async () => {
  const { text, dir } = await runReadmeBlock("shapes");
  await Deno.remove(dir, { recursive: true });
  const loss = Number(text.match(/^val loss (\S+) over 300 rows$/m)?.[1]);
  assert.ok(loss < 0.1, text);
  // Greedy samples of the toy language: each token the sum of the three before it, mod 7.
  const seq = text.match(/^sampled ([\d ]+)$/m)?.[1].split(" ").map(Number) ?? [];
  assert.equal(seq.length, 11, text);
  for (let i = 3; i < seq.length; i++) {
    assert.equal(seq[i], (seq[i - 1] + seq[i - 2] + seq[i - 3]) % 7, `token ${i} of ${seq}`);
  }
});

Deno.test("the README's live sizes: expand and a mask slice follow idx's batch and length", async () => {
  const { text, dir } = await runReadmeBlock("sizes");
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(text.trim().split("\n"), [
    "idx (32,16): h (32,64), mask (16,16)",
    "idx (10,16): h (10,64), mask (16,16)",
    "idx (1,3): h (1,64), mask (3,3)",
  ]);
});
