/**
 * The refusals the README promises, each before any work and in one line: a file-size limit
 * (ulimit -f) too small for the checkpoint, sizes whose examples' tables would not fit (every
 * allocation counted in the estimate), `ninja init` on a full disk (no empty file left, and the
 * retry works) and on a symbolic link loop (said as such).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildExamples, buildVocab } from "../exercises/data.ts";
import { contextGroups } from "../exercises/train/eval.ts";
import { DEFAULT_CONFIG } from "../exercises/train/config.ts";
import { checkRunSize, runSize } from "../exercises/train/limits.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import {
  assertOneLine,
  type CommandOutcome,
  commandPath,
  lectureNames,
  outcomeOf,
  runCommand,
  scratchDir,
} from "./helpers.ts";

const at = await scratchDir("ninjagrad-refusals-");
const DATA = at("names.txt");
await Deno.writeTextFile(DATA, (await lectureNames(300)).join("\n") + "\n");
const linux = Deno.build.os === "linux";

/** Runs `deno run -A SCRIPT ARGS` under `ulimit -f BLOCKS` (1 KiB blocks), as a shell would. */
async function underLimit(blocks: number, script: string, args: string[]): Promise<CommandOutcome> {
  const quoted = [script, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const out = await new Deno.Command("bash", {
    args: ["-c", `ulimit -f ${blocks}; exec '${Deno.execPath()}' run --quiet -A ${quoted}`],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return outcomeOf(out);
}

/** Files the project made beside `file`: temp, probe and lock files. */
const beside = (file: string) =>
  [...Deno.readDirSync(at("."))].map((e) => e.name).filter((n) =>
    n.startsWith(`.${file}.`) || n === file
  );

// Deno's own caches are several MiB, and it writes them as it starts: the limit sits above
// them and below the checkpoint of a wide model (about 81 MiB).
const LIMIT_BLOCKS = 64 * 1024;

Deno.test({
  name: "train --save under ulimit -f smaller than a checkpoint: refused before training",
  ignore: !linux,
  fn: async () => {
    const out = await underLimit(LIMIT_BLOCKS, commandPath("train"), [
      ...["--data", DATA, "--hidden", "250000", "--steps", "1", "--quiet"],
      ...["--save", at("big.ckpt")],
    ]);
    assertOneLine(
      out,
      1,
      /cannot save to .*big\.ckpt: this shell's file-size limit \(ulimit -f\) is 64 MiB, less than a checkpoint of about 81 MiB; raise it \(ulimit -f unlimited\) or train without --save \(nothing was trained\)$/,
    );
    assert.deepEqual(beside("big.ckpt"), [], "no checkpoint, temp or lock file left");
  },
});

Deno.test({
  name: "a write past ulimit -f fails in one line (SIGXFSZ caught), its temp file removed",
  ignore: !linux,
  fn: async () => {
    const script = at("write_big.ts");
    const checkpoint = fileURLToPath(new URL("../exercises/checkpoint.ts", import.meta.url));
    const main = fileURLToPath(new URL("../exercises/cli/main.ts", import.meta.url));
    await Deno.writeTextFile(
      script,
      `import { writeAtomicSync } from ${JSON.stringify(checkpoint)};
import { runMain } from ${JSON.stringify(main)};
await runMain(() => writeAtomicSync(Deno.args[0], new Uint8Array(80 * 2 ** 20), "checkpoint"));
`,
    );
    const out = await underLimit(LIMIT_BLOCKS, script, [at("direct.ckpt")]);
    assertOneLine(out, 1, /^error: cannot write checkpoint .*direct\.ckpt: File too large$/);
    assert.deepEqual(beside("direct.ckpt"), [], "the temp file was removed");
  },
});

Deno.test("--block 100000: refused before the examples' tables are built, in one line", async () => {
  const out = await runCommand("train", ["--block", "100000", "--steps", "1", "--quiet"]);
  assertOneLine(
    out,
    1,
    /^error: a run of batch 32 and hidden 200, block 100,000 \(float32\) would need about 9\d\.\d GiB, and its W1 \(1,000,000 × 200\) matrices .*: use a smaller --block, --batch or --hidden$/,
  );
});

Deno.test("the estimate counts the examples' tables: --block 3000 on the lecture's names", () => {
  const config = { ...DEFAULT_CONFIG, block: 3000 };
  const sizes = { vocab: 27, embd: 10, block: 3000, hidden: 200 };
  const examples = 228_146; // the lecture's 32,033 names give that many, over the three splits
  const { bytes } = runSize(config, sizes, examples);
  // X alone is 228,146 × 3,000 int32: 2.55 GiB. Measured: `train --block 3000 --steps 1`
  // peaked at 2.78 GiB resident (/usr/bin/time, final evaluation included), under this estimate.
  assert.ok(bytes >= 4 * examples * 3001, `estimate ${bytes} misses the tables`);
  assert.ok(bytes > 3 * 2 ** 30 && bytes < 3.5 * 2 ** 30, `estimate ${bytes}`);
  assert.throws(
    () => checkRunSize(config, sizes, 2 * 2 ** 30, examples),
    (e: unknown) =>
      e instanceof NinjagradError &&
      /^a run of batch 32 and hidden 200, block 3,000 \(float32\) would need about 3\.\d GiB of memory, more than this machine's 2\.0 GiB: use a smaller --block, --batch or --hidden$/
        .test(e.message),
  );
  assert.throws(
    () => checkRunSize({ ...config, block: 20_000 }, { ...sizes, block: 20_000 }, 2 ** 50, 228_146),
    /228,146 examples × block 20,000 contexts \(17\.0 GiB\) are more than one table holds/,
  );
});

Deno.test("contexts too long for a number are grouped by hash, exactly as by their text", async () => {
  const words = await lectureNames(2000);
  const vocab = buildVocab(words);
  const ex = buildExamples(words, vocab, 14); // 27^14 codes: past 2^53
  const groups = contextGroups(ex);
  const key = (r: number) => ex.X.subarray(r * 14, r * 14 + 14).join(",");
  const want = new Map<string, Map<number, number>>();
  for (let i = 0; i < ex.n; i++) {
    const targets = want.get(key(i)) ?? new Map<number, number>();
    targets.set(ex.Y[i], (targets.get(ex.Y[i]) ?? 0) + 1);
    want.set(key(i), targets);
  }
  assert.equal(groups.rows.length, want.size);
  groups.rows.forEach((r, k) => {
    const targets = want.get(key(r))!;
    const got = new Map<number, number>();
    for (let t = groups.targetStart[k]; t < groups.targetStart[k + 1]; t++) {
      got.set(groups.targetY[t], groups.targetCount[t]);
    }
    assert.deepEqual(got, targets, `group ${k}`);
    assert.equal(groups.count[k], [...targets.values()].reduce((a, b) => a + b));
  });
});

// A full disk: a small tmpfs of our own, where mounting is allowed (root on Linux).
// Apart from the scratch folder, which is removed while it would still be mounted.
const full = await Deno.makeTempDir({ prefix: "ninjagrad-full-" });
const mounted = linux &&
  (await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", full],
    stderr: "null",
  }).output().catch(() => ({ success: false }))).success;
globalThis.addEventListener("unload", () => {
  if (mounted) new Deno.Command("umount", { args: [full] }).outputSync();
  Deno.removeSync(full, { recursive: true });
});

Deno.test({
  name: "ninja init on a full disk: one line, no empty file left, and the retry works",
  // Skipped where mounting a tmpfs is not permitted (not root, not Linux): a full disk cannot be
  // made without it.
  ignore: !mounted,
  fn: async () => {
    const filler = join(full, "filler");
    await Deno.writeFile(filler, new Uint8Array(64 * 1024)).catch(() => {}); // fills it up
    const out = await runCommand("ninja", ["init", join(full, "work")]);
    assertOneLine(
      out,
      1,
      /^error: cannot write .*full-\w+\/work\/backprop\.ts: No space left on device; nothing was left behind$/,
    );
    assert.deepEqual([...Deno.readDirSync(join(full, "work"))], [], "no empty file left");
    await Deno.remove(filler);
    const retry = await runCommand("ninja", ["init", join(full, "work")]);
    assert.equal(retry.code, 0, retry.stderr.join("\n"));
    assert.match(retry.stdout, /^wrote .*backprop\.ts: exercise 1/);
    assert.ok(Deno.statSync(join(full, "work", "backprop.ts")).size > 1000);
  },
});

Deno.test("ninja init on a symbolic link loop says what it is", async () => {
  const loop = at("loop");
  await Deno.symlink(loop, loop);
  const out = await runCommand("ninja", ["init", loop]);
  assertOneLine(
    out,
    1,
    /^error: cannot init .*loop: Too many levels of symbolic links \(a symbolic link that points back to itself, or a loop of them\): name a real directory$/,
  );
  assert.ok(Deno.lstatSync(loop).isSymlink, "the link is left as it was");
});
