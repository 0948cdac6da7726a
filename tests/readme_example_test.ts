// The README's tour is code a newcomer copies first: run it, so it cannot rot.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

Deno.test("the README's tour runs and prints what it says", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const tour = readme.split("<!-- tour:start -->")[1]?.split("<!-- tour:end -->")[0];
  assert.ok(tour, "README.md has a tour between the tour markers");
  const code = tour.split("```ts")[1].split("```")[0].replaceAll(
    '"./mod.ts"',
    JSON.stringify(new URL("mod.ts", root).href),
  );
  const file = await Deno.makeTempFile({
    dir: new URL(".", import.meta.url).pathname,
    suffix: "_tour.ts",
  });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", file],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(text, /dW = /);
    assert.match(text, /^h +\| exact: True/m);
    assert.match(text, /every node agrees/);
    assert.match(text, /loss before and after: \d+\.\d{4} → \d+\.\d{4}/);
  } finally {
    await Deno.remove(file);
  }
});
