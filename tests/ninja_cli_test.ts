/**
 * `deno task ninja` as a learner meets it: help for every command, a blank file for each
 * exercise, `--json` that prints one JSON document, errors that point into the learner's file
 * (a syntax error, a type error, a rule that throws), and `ninja train` with exercise-4 rules.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { EXERCISES } from "../exercises/ninja/exercises.ts";
import { doneOf, trainWithLearnerRules } from "../exercises/ninja/train.ts";
import { DEFAULT_CONFIG } from "../exercises/train/config.ts";
import { prepareData } from "../exercises/train/data.ts";
import { main } from "../exercises/cli/ninja.ts";
import { initLearnerFile } from "../exercises/ninja/init.ts";
import { lectureNames, ROOT, runScript } from "./helpers.ts";

const ninja = (...args: string[]) => runScript("exercises/cli/ninja.ts", ...args);
const REPO = new URL("../", import.meta.url).href;

/** A learner's file in a directory of its own. */
async function learnerFile(name: string, text: string): Promise<string> {
  const path = join(await Deno.makeTempDir({ prefix: "ninja-" }), name);
  await Deno.writeTextFile(path, text);
  return path;
}

/** An exercise-4 file: the reference rules, with `overrides` after them. */
function ex4File(overrides = ""): string {
  return `import { kernels as t } from "${REPO}mod.ts";
import type { Ex4Rules } from "${REPO}exercises/ninja/api.ts";
import { ex4Rules } from "${REPO}exercises/rules/ex4_lines.ts";
export const exercise = 4;
export const rules: Ex4Rules = {
  ...ex4Rules,
  ${overrides}
};
void t;
`;
}

/** What `main(args)` prints, run in this process (the help texts need no process of their own). */
async function printed(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => lines.push(xs.join(" "));
  try {
    await main(args);
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

Deno.test("ninja --help and each command's --help list the commands and flags", async () => {
  const r = await ninja("--help");
  assert.equal(r.code, 0, r.stderr);
  for (const help of [r.stdout, await printed("help"), await printed("-h")]) {
    for (const word of ["init DIR [--exercise N]", "check FILE", "train FILE"]) {
      assert.ok(help.includes(word), word);
    }
    assert.match(
      help,
      /1 {2}backprop through every atomic node by hand: backprop.ts, 30 rules for 26 gradients/,
    );
    assert.match(help, /4 {2}.*fused_backward.ts, 13 rules for 13 gradients/);
  }
  assert.match(await printed("init", "--help"), /--exercise 3 {2}DIR\/batchnorm.ts/);
  const check = await printed("check", "--help");
  for (const flag of ["--data", "--dtype", "--seed", "--rng", "--json", "--no-check"]) {
    assert.ok(check.includes(flag), flag);
  }
  assert.match(await printed("train", "-h"), /--steps, --batch/);
  const none = await ninja();
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /^error: ninja needs a command: init DIR .*\(deno task ninja help\)\n$/,
  );
});

Deno.test("ninja init --exercise 1, 2, 3, 4: files that type-check and check as not written; counts agree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninja-" });
  const paths = [];
  for (const n of [1, 2, 3] as const) paths.push(await initLearnerFile(dir, n));
  const init = await ninja("init", dir, "--exercise", "4");
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /fused_backward.ts: exercise 4, .*: 13 blank rules for 13 gradients\./);
  paths.push(join(dir, EXERCISES[4].file));
  const text = await Deno.readTextFile(join(dir, "batchnorm.ts"));
  assert.match(text, /export const rules: Ex3Rules = \{/);
  assert.match(text, /\/\/ {3}bnvar_inv \(1, 64\) +\(bnvar \+ 1e-5\)\*\*-0\.5/);
  const typecheck = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...paths],
    cwd: ROOT,
    stderr: "piped",
  }).output();
  assert.equal(typecheck.code, 0, new TextDecoder().decode(typecheck.stderr));

  const r = await ninja("check", join(dir, "fused_backward.ts"), "--json", "--no-check");
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  assert.equal(report.exercise, 4);
  assert.deepEqual(report.counts, { ok: 0, wrong: 0, "not written": 13 });
  assert.deepEqual(report.rules, { total: 13, written: 0 });
  assert.equal(report.nextToWrite, "logits");
  assert.match(r.stderr, /^error: 13 nodes to go: write logits next\n$/);

  const bad = await ninja("init", dir, "--exercise", "5");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--exercise must be between 1 and 4, got 5/);
});

Deno.test("a correct file of exercise 2, 3 or 4 passes ninja check: exit 0", async () => {
  const files = {
    2: ["cross_entropy.ts", "Ex2Rules", "ex2Rules", "ex2.ts"],
    3: ["batchnorm.ts", "Ex3Rules", "ex3Rules", "ex3.ts"],
    4: ["fused_backward.ts", "Ex4Rules", "ex4Rules", "ex4_lines.ts"],
  } as const;
  for (const [n, [name, type, rules, module]] of Object.entries(files)) {
    const path = await learnerFile(
      name,
      `import type { ${type} } from "${REPO}exercises/ninja/api.ts";
import { ${rules} } from "${REPO}exercises/rules/${module}";
export const exercise = ${n};
export const rules: ${type} = { ...${rules} };
`,
    );
    const r = await ninja("check", path, "--no-check");
    assert.equal(r.code, 0, r.stderr);
    const total = n === "4" ? 13 : 1;
    assert.match(r.stdout, new RegExp(`gradients?: ${total} ok, 0 wrong, 0 not written`));
    assert.match(r.stdout, /you are a backprop ninja/);
  }
});

Deno.test("ninja check --json: stdout is one JSON document, with every node's status", async () => {
  const path = await learnerFile(
    "fused_backward.ts",
    ex4File(`h: { hpreact: ({ dh, h }) => t.mul(t.neg(t.oneMinusSquare(h)), dh) },`),
  );
  const r = await ninja("check", path, "--json", "--no-check");
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout); // throws if anything but one document is there
  assert.equal(report.firstWrong, "hpreact");
  const node = report.nodes.find((v: { name: string }) => v.name === "hpreact");
  assert.equal(node.status, "wrong");
  assert.equal(node.first, true);
  assert.equal(node.mistake, "sign");
  assert.equal(report.nodes.filter((v: { status: string }) => v.status === "ok").length, 12);
  assert.match(r.stderr, /^error: 1 node is wrong: fix hpreact first\n$/);
});

Deno.test("a syntax error shows the learner's file and line", async () => {
  const path = await learnerFile(
    "fused_backward.ts",
    ex4File(`h: { hpreact: ({ dh, h }) => t.mul(t.oneMinusSquare(h), dh, },`),
  );
  const r = await ninja("check", path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${path}:7:\\d+: SyntaxError: `));
  assert.match(r.stderr, /^ {2}7 \| +h: \{ hpreact:/m);
  assert.match(r.stderr, /the file does not parse; fix that line\n$/);
  const json = await ninja("check", path, "--json");
  assert.equal(JSON.parse(json.stdout).error.kind, "syntax");
  assert.equal(JSON.parse(json.stdout).error.diagnostics[0].line, 7);
});

Deno.test("a type error shows the learner's file, line and column, and the compiler's message", async () => {
  const path = await learnerFile(
    "fused_backward.ts",
    ex4File(`h: { hpreact: ({ dhpreact, h }) => t.mul(t.oneMinusSquare(h), dhpreact) },`),
  );
  const r = await ninja("check", path);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `^error: ${path}:7:20: TS2339 Property 'dhpreact' does not exist on type ` +
        `'Ex4RuleContext<"h">' \\(the rules of line h receive its upstream gradient as dh, also g\\)`,
      "m",
    ),
  );
  assert.match(r.stderr, /^ {2}7 \| +h: \{ hpreact: \(\{ dhpreact, h \}\)/m);
});

Deno.test("a rule that throws shows the learner's file and line, in check and in train", async () => {
  const path = await learnerFile(
    "fused_backward.ts",
    ex4File(`logits: {
    ...ex4Rules.logits,
    b2: ({ dlogits }) => {
      throw new Error(\`todo: db2 from \${dlogits.shape}\`);
    },
  },`),
  );
  const r = await ninja("check", path, "--no-check");
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /b2 +wrong +db2: your rule threw todo: db2 from 32,27 \(fused_backward.ts:10:13\)/,
  );
  assert.match(r.stdout, new RegExp(`your rule threw at ${path}:10:13:`));
  assert.match(r.stdout, /^ {2}10 \| +throw new Error/m);
  // ninja train checks first, and refuses.
  const train = await ninja("train", path, "--steps", "10", "--no-check");
  assert.equal(train.code, 1);
  assert.match(
    train.stderr,
    /trains only on rules that agree with the engine's; 13 gradients: 12 ok, 1 wrong.*fix b2 first/,
  );
});

Deno.test("a rule that throws in the middle of a training run names the step and the line", async () => {
  const path = await learnerFile(
    "fused_backward.ts",
    ex4File(`h: {
    hpreact: ({ dh, h }) => {
      if (++calls === 3) throw new Error("tired");
      return t.mul(t.oneMinusSquare(h), dh);
    },
  },`).replace("export const exercise", "let calls = 0;\nexport const exercise"),
  );
  const url = pathToFileURL(path).href;
  const { rules } = await import(url);
  const data = prepareData(await lectureNames(2000), 3, "2,000 names");
  const config = { ...DEFAULT_CONFIG, steps: 5, evalEvery: 0, evalExamples: 100 };
  await assert.rejects(
    doneOf(trainWithLearnerRules(rules, config, data, { file: url })),
    (e: Error) => {
      assert.match(e.message, /^step 3: the hand-written rule for input "x" of h \(tanh\) threw: /);
      assert.ok(e.message.includes(`tired at ${path}:10:`), e.message);
      return true;
    },
  );
});

Deno.test("ninja train trains with the learner's rules only: 0 automatic rules run", async () => {
  const path = await learnerFile("fused_backward.ts", ex4File());
  const r = await ninja("train", path, "--steps", "200", "--eval-every", "0", "--no-check");
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /with your rules from .*fused_backward.ts \(on the run's first two minibatches, all 13 gradients agree with the engine's; checked again at steps 100, 300, 1,000, 3,000 and every 10,000\)/,
  );
  assert.match(r.stdout, /^train \d\.\d{4} {2}val \d\.\d{4}/m);
  assert.match(r.stdout, /rules run: 2,600 hand-written \(yours\), 0 automatic$/m);
  const ex2 = await learnerFile("cross_entropy.ts", "");
  await Deno.remove(ex2);
  await initLearnerFile(join(ex2, ".."), 2);
  const wrong = await ninja("train", ex2, "--no-check");
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /holds exercise 2's rules; ninja train trains with exercise 4's/);
});
