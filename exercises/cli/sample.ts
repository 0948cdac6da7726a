/**
 * `deno task sample --checkpoint FILE [-n 20] [--seed S]`: names from a saved exercise-4 model,
 * with the BatchNorm statistics saved in it. Without `--seed`, the training run's seed is used,
 * so the names are the ones `deno task train` printed at the end of that run. Names are written
 * as they are drawn.
 */
import { UsageError } from "../../ops/kernels/errors.ts";
import { type FlagSpec, numberFlag, parseFlags, runMain, userPath } from "./main.ts";
import { loadCheckpoint } from "../checkpoint.ts";
import { drawNames, samplingRandom } from "../train/sample.ts";

const FLAGS: FlagSpec = {
  checkpoint: { type: "string" },
  count: { type: "string", short: "n" },
  seed: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const USAGE = `deno task sample --checkpoint FILE [flags]: names from a model saved by train --save
  -n, --count N   how many names (20)
  --seed N        sampling seed (default: the training run's, as train printed them)`;

async function main(): Promise<void> {
  const { values, positionals } = parseFlags("sample", Deno.args, FLAGS);
  if (values.help) return console.log(USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`sample: unexpected argument "${positionals[0]}" (flags start with --)`);
  }
  const path = values.checkpoint as string | undefined;
  if (path === undefined) {
    throw new UsageError("sample needs --checkpoint FILE (a file written by train --save FILE)");
  }
  const count = numberFlag("count", values.count as string | undefined, 20, {
    min: 1,
    integer: true,
  });
  const seedFlag = numberFlag("seed", values.seed as string | undefined, -1, {
    min: 0,
    max: Number.MAX_SAFE_INTEGER - 10,
    integer: true,
  });
  const checkpoint = await loadCheckpoint(userPath(path));
  const seed = seedFlag < 0 ? checkpoint.config.seed : seedFlag;
  await writeLines(drawNames(checkpoint.model, samplingRandom(seed)), count);
}

/**
 * Writes `count` lines as they are drawn, a few kilobytes at a time (`-n 1e12` starts at once
 * and streams); a reader that stops reading (`| head`) ends the command quietly.
 */
async function writeLines(lines: Iterator<string>, count: number): Promise<void> {
  const encoder = new TextEncoder();
  let text = "";
  try {
    for (let i = 0; i < count; i++) {
      text += lines.next().value + "\n";
      if (text.length >= 16_384 || i === count - 1) {
        const bytes = encoder.encode(text);
        for (let at = 0; at < bytes.length;) at += await Deno.stdout.write(bytes.subarray(at));
        text = "";
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return;
    throw e;
  }
}

if (import.meta.main) await runMain(main);
