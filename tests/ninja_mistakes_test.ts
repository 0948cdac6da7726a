/**
 * The mistakes learners make, one file each (`tests/fixtures/ninja/ex1/` … `ex4/`): every file
 * takes the reference rules and plants one mistake, and says what `ninja check` must answer: the
 * node, its status, the kind of mistake and words of the hint. Every other node stays ok, so the
 * mistake is found at its own node and nowhere else.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { checkOn, type CheckSession, prepareCheck } from "../exercises/ninja/check.ts";
import { type ExerciseNumber, EXERCISES } from "../exercises/ninja/exercises.ts";
import { loadLearnerFile } from "../exercises/ninja/source.ts";
import type { PlantedMistake } from "./fixtures/ninja/planted.ts";
import { ROOT } from "./helpers.ts";

const FIXTURES = fileURLToPath(new URL("fixtures/ninja/", import.meta.url));

/** The planted-mistake files of exercise `n`, by name. */
function plantedFiles(n: ExerciseNumber): string[] {
  return [...Deno.readDirSync(join(FIXTURES, `ex${n}`))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => e.name)
    .sort();
}

const sessions = new Map<ExerciseNumber, Promise<CheckSession>>();
/** One graph per exercise, checked against every file of it. */
function session(n: ExerciseNumber): Promise<CheckSession> {
  if (!sessions.has(n)) sessions.set(n, prepareCheck(n));
  return sessions.get(n)!;
}

for (const n of [1, 2, 3, 4] as const) {
  Deno.test(`exercise ${n}: the reference rules pass at every node`, async () => {
    const report = checkOn(await session(n), EXERCISES[n].reference);
    assert.deepEqual(report.nodes.map((v) => v.name), [...EXERCISES[n].rows]);
    assert.ok(report.nodes.every((v) => v.status === "ok"), JSON.stringify(report.nodes));
    assert.equal(report.rules.written, report.rules.total);
  });

  for (const name of plantedFiles(n)) {
    Deno.test(`exercise ${n}, ${name}: named at its node with its hint`, async () => {
      const path = join(FIXTURES, `ex${n}`, name);
      const file = await loadLearnerFile(path, { typecheck: false });
      assert.equal(file.exercise, n);
      const { mistake } = await import(file.url) as { mistake: PlantedMistake };
      const report = checkOn(await session(n), file.rules, { file: file.url });
      const node = report.nodes.find((v) => v.name === mistake.node)!;
      const others = report.nodes.filter((v) => v !== node && v.status !== "ok");
      assert.deepEqual(others.map((v) => `${v.name}: ${v.detail}`), []);
      assert.equal(node.status, mistake.status, node.detail);
      assert.match(node.detail, mistake.hint);
      if (mistake.status === "wrong") {
        assert.equal(report.firstWrong?.name, mistake.node);
        assert.equal(node.mistake, mistake.kind, node.detail);
        // The catalogue names this mistake and no other; outside it, no catalogue hint at all.
        assert.equal(node.mutant, mistake.mutant, node.detail);
        // A file that adds with += is never told to use +=.
        if (/\+= (demb|emb)\.data/.test(Deno.readTextFileSync(path))) {
          assert.doesNotMatch(node.detail, /\+=/);
        }
      } else {
        assert.equal(report.firstWrong, undefined);
        assert.equal(node.zeroInTruth, true);
      }
      if (mistake.kind === "threw" || mistake.kind === "matmul") {
        assert.equal(node.location?.file, path, "a rule that throws is located in the file");
        const line = Deno.readTextFileSync(path).split("\n")[node.location!.line - 1];
        assert.match(line, mistake.kind === "threw" ? /throw/ : /t\.matmul/);
      }
    });
  }
}

Deno.test("every planted-mistake file type-checks, as a learner's file would", async () => {
  const files = ([1, 2, 3, 4] as const).flatMap((n) =>
    plantedFiles(n).map((f) => join(FIXTURES, `ex${n}`, f))
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...files],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});

Deno.test("the planted mistakes cover every kind the issue asks for, in every exercise", async () => {
  const kinds: Record<number, string[]> = {};
  for (const n of [1, 2, 3, 4] as const) {
    kinds[n] = [];
    for (const name of plantedFiles(n)) {
      const { mistake } = await import(
        new URL(`fixtures/ninja/ex${n}/${name}`, import.meta.url).href
      ) as { mistake: PlantedMistake };
      kinds[n].push(mistake.status === "ok" ? "zero in truth" : mistake.kind!);
    }
  }
  const has = (n: number, ...k: string[]) => k.every((x) => kinds[n].includes(x));
  assert.ok(
    has(
      1,
      ...["sign", "factor", "transpose", "matmul", "broadcast", "keepdim", "reshape"],
      ...["zero in truth", "zeros", "threw"],
    ),
    kinds[1].join(),
  );
  assert.ok(has(2, "sign", "factor", "terms", "transpose", "reshape"), kinds[2].join());
  assert.ok(has(3, "sign", "factor", "terms"), kinds[3].join());
  assert.ok(
    has(
      4,
      ...["sign", "factor", "transpose", "matmul", "broadcast", "keepdim", "reshape"],
      ...["zero in truth", "terms", "threw"],
    ),
    kinds[4].join(),
  );
});
