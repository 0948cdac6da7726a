/**
 * `deno run -A tests/bench/random_kills.ts [KILLS] [STEPS]`: kill -9 at random moments of a
 * `train --save` run, then `--resume` it, KILLS times (default 20). Each kill must lose at most
 * `--checkpoint-every` steps (the checkpoint's step against the last evaluation the run printed)
 * and the resumed run must end with the very file a straight run ends with. Prints a line per
 * kill and a summary; exits 1 if any kill lost more or any resumed run differs. (The default
 * suite has one such kill: tests/adversarial_test.ts.)
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCheckpoint } from "../../exercises/checkpoint.ts";
import { lectureNames } from "../../exercises/data.ts";

const TRAIN = fileURLToPath(new URL("../../exercises/cli/train.ts", import.meta.url));
const KILLS = Number(Deno.args[0] ?? 20);
const STEPS = Number(Deno.args[1] ?? 20_000);
const EVERY = 500;

const dir = await Deno.makeTempDir({ prefix: "ninjagrad-kills-" });
const data = join(dir, "names.txt");
await Deno.writeTextFile(data, lectureNames().slice(0, 300).join("\n"));
const common = [
  "--data",
  data,
  "--hidden",
  "32",
  "--steps",
  String(STEPS),
  "--eval-every",
  String(EVERY),
  "--checkpoint-every",
  String(EVERY),
];

const train = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", TRAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  });

const tick = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));

const straight = join(dir, "straight.ckpt");
const t0 = performance.now();
const whole = await train([...common, "--save", straight, "--quiet"]).output();
if (whole.code !== 0) throw new Error(new TextDecoder().decode(whole.stderr));
const runMs = performance.now() - t0;
const want = await Deno.readFile(straight);
console.log(`straight run: ${STEPS} steps in ${(runMs / 1000).toFixed(1)} s`);

let matched = 0, resumed = 0, maxLost = 0, bad = 0;
for (let k = 1; k <= KILLS; k++) {
  const file = join(dir, `kill${k}.ckpt`);
  const child = train([...common, "--save", file, "--json"]).spawn();
  let lastEval = 0, text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (const m of text.matchAll(/"type":"eval","step":(\d+)/g)) lastEval = Number(m[1]);
    }
  })();
  const errors = new Response(child.stderr).text();
  // A moment anywhere in the run: past a random step, then a random part of a chunk later
  // (evaluations, checkpoint writes and the final statistics included).
  const target = Math.floor(Math.random() * (STEPS - EVERY));
  const start = performance.now();
  while (lastEval < target && (await Promise.race([child.status, tick(10)])) === undefined) {
    /* waiting for the run to get there */
  }
  await tick(Math.random() * 100);
  const delay = performance.now() - start;
  try {
    child.kill("SIGKILL");
  } catch { /* it had ended */ }
  await child.status;
  await reading;
  await errors;
  const saved = await loadCheckpoint(file).catch(() => undefined);
  const step = saved?.step ?? 0;
  const lost = Math.max(0, lastEval - step);
  maxLost = Math.max(maxLost, lost);
  let verdict: string;
  if (lost > EVERY) {
    bad++;
    verdict = `LOST ${lost} steps`;
  } else if (saved === undefined) {
    verdict = "killed before its first checkpoint (nothing to resume)";
  } else if (step >= STEPS) {
    verdict = "finished before the kill";
    if ((await Deno.readFile(file)).every((b, i) => b === want[i])) matched++;
  } else {
    resumed++;
    const out = await train(["--resume", file, "--quiet"]).output();
    const same = out.code === 0 &&
      (await Deno.readFile(file)).length === want.length &&
      (await Deno.readFile(file)).every((b, i) => b === want[i]);
    if (same) matched++;
    else bad++;
    verdict = same ? "resumed: bit-identical to the straight run" : "resumed: DIFFERS";
  }
  const left = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(`.kill${k}.ckpt.`));
  console.log(
    `kill ${k} after step ${target} + ${
      (delay / 1000).toFixed(2)
    } s: last evaluation ${lastEval}, checkpoint ` +
      `${saved ? step : "none"}, lost ${lost} ≤ ${EVERY}; ${verdict}` +
      (left.length ? `; left: ${left.map((e) => e.name).join(", ")}` : ""),
  );
}
console.log(
  `${KILLS} kills: ${resumed} resumed, ${matched} files bit-identical to the straight run, ` +
    `at most ${maxLost} steps lost (checkpoint every ${EVERY}); ${bad} failures`,
);
await Deno.remove(dir, { recursive: true });
if (bad > 0) Deno.exit(1);
