/**
 * `ninja check` end to end on a file that `ninja init` wrote: a type error is reported at its
 * line before anything is judged, and once the line type-checks, the mistake on it is named from
 * the catalogue (exercises/ninja/mutants.ts), in the table and in the JSON.
 */
import assert from "node:assert/strict";
import { initLearnerFile } from "../exercises/ninja/init.ts";
import { runScript } from "./helpers.ts";

const ninja = (...args: string[]) => runScript("exercises/cli/ninja.ts", ...args);

/** Exercise 3's reference dhprebn with `mean` as its part through the mean. */
function dhprebn(mean: string): string {
  return `    hprebn: ({ dhpreact, bngain, bnvar_inv, bnraw, n }) => {
      const over = { axis: 0, keepdim: true };
      const inner = t.sub(
        t.sub(t.mul(n, dhpreact), ${mean}),
        t.mul(n / (n - 1), t.mul(bnraw, t.sum(t.mul(dhpreact, bnraw), over))),
      );
      return t.mul(t.div(t.mul(bngain, bnvar_inv), n), inner);
    },`;
}

Deno.test("ninja check: a type error at its line first, then the missing .sum(0) named", async () => {
  const path = await initLearnerFile(await Deno.makeTempDir({ prefix: "ninja-mutants-" }), 3);
  const blank = await Deno.readTextFile(path);
  const rule = `    hprebn: () => notWritten("dhprebn"),`;
  assert.ok(blank.includes(rule));
  // `t.sum(dhpreact, 0)`: the axis where the kernel takes { axis, keepdim }.
  await Deno.writeTextFile(path, blank.replace(rule, dhprebn("t.sum(dhpreact, 0)")));
  const line = blank.split("\n").indexOf(rule) + 4;
  const typed = await ninja("check", path);
  assert.equal(typed.code, 1);
  const first = typed.stderr.split("\n").find((l) => l.trim() !== "");
  assert.match(first!, new RegExp(`^${path}:${line}:\\d+: TS2345 Argument of type 'number'`));
  assert.equal(typed.stdout, "", "nothing is judged before the file type-checks");

  // Fixed the type, the sum left out: the catalogue names it, and never Bessel's correction.
  await Deno.writeTextFile(path, blank.replace(rule, dhprebn("dhpreact")));
  const r = await ninja("check", path, "--json");
  assert.equal(r.code, 1, r.stderr);
  const node = JSON.parse(r.stdout).nodes.find((v: { name: string }) => v.name === "hprebn");
  assert.equal(node.status, "wrong");
  assert.equal(node.mistake, "terms");
  assert.equal(node.mutant, "mean-without-sum");
  assert.match(node.detail, /has dhpreact where it needs dhpreact.sum\(0\): the missing .sum\(0\)/);
  assert.doesNotMatch(node.detail, /Bessel/);
});
