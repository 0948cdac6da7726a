/**
 * `deno task train`: the lecture's exercise 4. Trains the n_hidden-200 MLP with SGD, by default
 * with the hand-written backward on every node (and proves no automatic rule ran), re-estimates
 * the BatchNorm statistics over the training set, prints the split losses and 20 sampled names,
 * and can save a checkpoint for `deno task sample`.
 */
import { dirname } from "node:path";
import { share, type Subscription } from "rxjs";
import { NinjagradError, UsageError } from "../graph/errors.ts";
import {
  choiceFlag,
  type FlagSpec,
  numberFlag,
  parseFlags,
  runMain,
  userPath,
} from "./cli/main.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import { countParams } from "./model/ex4.ts";
import { RNG_KINDS } from "./rng/recipe.ts";
import { BATCH_MESSAGE, DEFAULT_CONFIG, type TrainConfig } from "./train/config.ts";
import { loadTrainData } from "./train/data.ts";
import type { DoneEvent } from "./train/events.ts";
import { jsonLog, plainLog, progressBar } from "./train/report.ts";
import { sizesOf, train } from "./train/run.ts";
import { sampleNames, samplingRandom } from "./train/sample.ts";

const FLAGS: FlagSpec = {
  steps: { type: "string" },
  batch: { type: "string" },
  hidden: { type: "string" },
  embd: { type: "string" },
  block: { type: "string" },
  lr: { type: "string" },
  seed: { type: "string" },
  rng: { type: "string" },
  data: { type: "string" },
  dtype: { type: "string" },
  backward: { type: "string" },
  "eval-every": { type: "string" },
  save: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const USAGE = `deno task train [flags]: exercise 4, training with the hand-written backward
  --steps N        SGD steps (${DEFAULT_CONFIG.steps})
  --batch N        minibatch size, at least 2 (${DEFAULT_CONFIG.batch})
  --hidden N       hidden units (${DEFAULT_CONFIG.hidden})
  --embd N         embedding width (${DEFAULT_CONFIG.embd})
  --block N        context length (${DEFAULT_CONFIG.block})
  --lr X           learning rate of the first half; the second half uses X/10 (${DEFAULT_CONFIG.lr})
  --seed N         seeds init, minibatches and (as N+10) sampling (${DEFAULT_CONFIG.seed})
  --rng R          seedrandom, or torch: the lecture's generators (${DEFAULT_CONFIG.rng})
  --data PATH|URL  names, one per line (default: the embedded English first names)
  --dtype T        float32 or float64 (${DEFAULT_CONFIG.dtype})
  --backward M     manual (hand-written rules on every node) or auto (${DEFAULT_CONFIG.backward})
  --eval-every N   evaluate every N steps, 0 for only at the end (${DEFAULT_CONFIG.evalEvery})
  --save FILE      write a checkpoint at the end (for deno task sample)
  --json           one JSON object per evaluation, then a final one
  --quiet          no progress output, only the results`;

/** The run's config from the command line, every value checked. */
export function configFromFlags(values: Record<string, string | boolean | undefined>): TrainConfig {
  const str = (name: string) => values[name] as string | undefined;
  const whole = (name: string, fallback: number, min = 1) =>
    numberFlag(name, str(name), fallback, { min, integer: true });
  const batchText = str("batch");
  const batch = numberFlag("batch", batchText, DEFAULT_CONFIG.batch, { integer: true });
  if (batch < 2) throw new UsageError(`--${BATCH_MESSAGE(batchText!)}`);
  const lr = numberFlag("lr", str("lr"), DEFAULT_CONFIG.lr);
  if (!(lr > 0)) throw new UsageError(`--lr must be a positive number, got ${str("lr")}`);
  return {
    ...DEFAULT_CONFIG,
    steps: whole("steps", DEFAULT_CONFIG.steps),
    batch,
    hidden: whole("hidden", DEFAULT_CONFIG.hidden),
    embd: whole("embd", DEFAULT_CONFIG.embd),
    block: whole("block", DEFAULT_CONFIG.block),
    lr,
    seed: numberFlag("seed", str("seed"), DEFAULT_CONFIG.seed, {
      min: 0,
      max: Number.MAX_SAFE_INTEGER - 10,
      integer: true,
    }),
    rng: choiceFlag("rng", str("rng"), RNG_KINDS, DEFAULT_CONFIG.rng),
    dtype: choiceFlag("dtype", str("dtype"), ["float32", "float64"], DEFAULT_CONFIG.dtype),
    backward: choiceFlag("backward", str("backward"), ["manual", "auto"], DEFAULT_CONFIG.backward),
    evalEvery: whole("eval-every", DEFAULT_CONFIG.evalEvery, 0),
  };
}

/** Fails before training, not after it, when the checkpoint's directory is missing. */
async function checkSaveDir(path: string): Promise<void> {
  const dir = dirname(path);
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info?.isDirectory) {
    throw new NinjagradError(`cannot save to ${path}: directory ${dir} does not exist`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseFlags("train", Deno.args, FLAGS);
  if (values.help) return console.log(USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`train: unexpected argument "${positionals[0]}" (flags start with --)`);
  }
  const config = configFromFlags(values);
  const save = values.save === undefined ? undefined : userPath(values.save as string);
  if (save !== undefined) await checkSaveDir(save);
  const json = values.json === true, quiet = values.quiet === true;
  const source = values.data === undefined ? undefined : userPath(values.data as string);
  const data = await loadTrainData(source, config.block);
  const say = (line: string) => console.log(line);
  if (!json && !quiet) {
    say(
      `training ${countParams(sizesOf(config, data)).toLocaleString("en")} parameters on ` +
        `${data.train.n.toLocaleString("en")} examples from ${data.source}: ${config.steps} ` +
        `steps, batch ${config.batch}, lr ${config.lr} then ${config.lr / 10}, ` +
        `${config.dtype}, backward ${config.backward}`,
    );
  }

  const run$ = train(config, data).pipe(share());
  const reporters: Subscription[] = [];
  if (json) reporters.push(jsonLog(run$, say));
  else if (!quiet && Deno.stdout.isTerminal() && Deno.stderr.isTerminal()) {
    reporters.push(progressBar(run$));
  } else if (!quiet) reporters.push(plainLog(run$, say));
  // A `--charts DIR` trace collector will subscribe to run$ here, like the reporters above.

  let interrupted = false;
  const done = await new Promise<DoneEvent | undefined>((resolve, reject) => {
    let last = 0;
    const runSub = run$.subscribe({
      next: (e) => {
        if (e.type === "step") last = e.step;
        if (e.type === "done") resolve(e);
      },
      complete: () => resolve(undefined),
      error: reject,
    });
    const onInterrupt = () => {
      interrupted = true;
      for (const r of [runSub, ...reporters]) r.unsubscribe(); // stops the run between steps
      console.error(`interrupted at step ${last} of ${config.steps}; nothing saved`);
      resolve(undefined);
    };
    Deno.addSignalListener("SIGINT", onInterrupt);
    runSub.add(() => Deno.removeSignalListener("SIGINT", onInterrupt));
  });
  if (interrupted || !done) Deno.exit(130);

  const samples = sampleNames(done.model, 20, samplingRandom(config.seed));
  if (save !== undefined) {
    await saveCheckpoint(save, {
      config,
      step: done.step,
      model: done.model,
      rngState: done.rngState,
      losses: { train: done.train, val: done.val },
    });
  }
  if (json) {
    say(JSON.stringify({
      type: "done",
      step: done.step,
      train: done.train,
      val: done.val,
      msPerStep: done.msPerStep,
      samples,
      ruleCounts: done.ruleCounts,
      backward: config.backward,
      ...(save !== undefined ? { saved: save } : {}),
    }));
    return;
  }
  say(
    `after ${done.step} steps, BatchNorm statistics re-estimated over all ` +
      `${data.train.n.toLocaleString("en")} training examples:`,
  );
  say(`train ${done.train.toFixed(4)}  val ${done.val.toFixed(4)}`);
  say(`20 names sampled with seed ${config.seed + 10}:`);
  for (const name of samples) say(`  ${name}`);
  const { auto, override } = done.ruleCounts;
  say(
    `${done.msPerStep.toFixed(2)} ms/step; rules run: ${override.toLocaleString("en")} ` +
      `hand-written, ${auto.toLocaleString("en")} automatic (--backward ${config.backward})`,
  );
  if (save !== undefined) say(`checkpoint saved to ${save}`);
}

if (import.meta.main) await runMain(main);
