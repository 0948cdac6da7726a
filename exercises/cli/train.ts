/**
 * `deno task train`: the lecture's exercise 4. Trains the n_hidden-200 MLP with SGD, by default
 * with the hand-written backward on every node (and proves no automatic rule ran), re-estimates
 * the BatchNorm statistics over the training set, prints the split losses and 20 sampled names,
 * and can save a checkpoint for `deno task sample` and for `--resume`. Ctrl-C stops after the
 * step in progress, saves (with `--save`) and exits 130.
 */
import { dirname } from "node:path";
import { share, type Subscription } from "../../graph/deps.ts";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { choiceFlag, type FlagSpec, numberFlag, parseFlags, runMain, userPath } from "./main.ts";
import { saveCheckpoint } from "../checkpoint.ts";
import { countParams } from "../model/ex4.ts";
import { RNG_KINDS } from "../rng/recipe.ts";
import {
  chartsLine,
  holdLive,
  liveFromFlags,
  prepareChartDir,
  runFacts,
  traceRun,
  writeRunCharts,
} from "./train_charts.ts";
import { BATCH_MESSAGE, decayStep, DEFAULT_CONFIG, type TrainConfig } from "../train/config.ts";
import { loadTrainData, type TrainData } from "../train/data.ts";
import { INTERRUPTED_EXIT, interruptible, runToDone } from "../train/interrupt.ts";
import { jsonLog, plainLog, progressBar } from "../train/report.ts";
import { resume } from "../train/resume.ts";
import { sizesOf, train, type TrainStart } from "../train/run.ts";
import { sampleNames, samplingRandom } from "../train/sample.ts";

const FLAGS: FlagSpec = {
  steps: { type: "string" },
  batch: { type: "string" },
  hidden: { type: "string" },
  embd: { type: "string" },
  block: { type: "string" },
  lr: { type: "string" },
  "lr-decay-at": { type: "string" },
  seed: { type: "string" },
  rng: { type: "string" },
  data: { type: "string" },
  dtype: { type: "string" },
  backward: { type: "string" },
  "eval-every": { type: "string" },
  save: { type: "string" },
  resume: { type: "string" },
  "detect-anomaly": { type: "boolean" },
  charts: { type: "string" },
  live: { type: "boolean" },
  port: { type: "string" },
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
  --lr X           learning rate, X/10 from --lr-decay-at on (${DEFAULT_CONFIG.lr})
  --lr-decay-at N  the step from which X/10 is used (default: half of --steps)
  --seed N         seeds init, minibatches and (as N+10) sampling (${DEFAULT_CONFIG.seed})
  --rng R          seedrandom, or torch: the lecture's generators (${DEFAULT_CONFIG.rng})
  --data PATH|URL  names, one per line (default: the lecture's names.txt)
  --dtype T        float32 or float64 (${DEFAULT_CONFIG.dtype})
  --backward M     manual (hand-written rules on every node) or auto (${DEFAULT_CONFIG.backward})
  --eval-every N   evaluate every N steps, 0 for only at the end (${DEFAULT_CONFIG.evalEvery})
  --save FILE      write a checkpoint at the end or on Ctrl-C (for deno task sample, --resume)
  --resume FILE    continue a saved run to --steps (default: its own), saving back to FILE
                   unless --save says otherwise; other settings come from the checkpoint
  --detect-anomaly stop at the first node whose value or gradient is NaN or Inf, naming it
  --charts DIR     write the training charts (.vl.json, .svg, .png) and report.html into DIR
  --live           draw the charts while training, on a page served on 127.0.0.1
  --port N         the live page's port (default: a free one)
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
  const steps = whole("steps", DEFAULT_CONFIG.steps);
  return {
    ...DEFAULT_CONFIG,
    steps,
    // Resolved now and saved, so that a resumed run keeps the schedule it started with.
    decayAt: whole("lr-decay-at", decayStep({ steps }), 0),
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
    ...(values["detect-anomaly"] === true ? { detectAnomaly: true } : {}),
  };
}

/** Fails before training, not after it, when the checkpoint's directory is missing. */
async function checkSaveDir(path: string): Promise<void> {
  const dir = dirname(path);
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info?.isDirectory) {
    throw new NinjagradError(`cannot save to ${path}: directory ${dir} does not exist`);
  }
  if ((await Deno.stat(path).catch(() => undefined))?.isDirectory) {
    throw new NinjagradError(`cannot save to ${path}: it is a directory; name a file in it`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseFlags("train", Deno.args, FLAGS);
  if (values.help) return console.log(USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`train: unexpected argument "${positionals[0]}" (flags start with --)`);
  }
  const flags = configFromFlags(values);
  const resumeFrom = values.resume === undefined ? undefined : userPath(values.resume as string);
  const save = values.save === undefined ? resumeFrom : userPath(values.save as string);
  if (save !== undefined) await checkSaveDir(save);
  const chartDir = values.charts === undefined ? undefined : userPath(values.charts as string);
  if (chartDir !== undefined) await prepareChartDir(chartDir);
  const json = values.json === true, quiet = values.quiet === true;
  const source = values.data === undefined ? undefined : userPath(values.data as string);
  let config = flags, data: TrainData, start: TrainStart | undefined;
  if (resumeFrom === undefined) data = await loadTrainData(source, config.block);
  else ({ config, data, start } = await resume(resumeFrom, values, flags, source));
  const say = (line: string) => console.log(line);
  const parameters = countParams(sizesOf(config, data));
  const names = data.fingerprint?.names;
  const from = `${data.source}${
    names === undefined ? "" : ` (${names.toLocaleString("en")} names)`
  }`;
  if (json) {
    // The first line says what is trained on what, as the text mode's first line does.
    say(JSON.stringify({
      type: "start",
      ...(start ? { resumedFrom: resumeFrom, step: start.step } : {}),
      data: {
        source: data.source,
        names,
        sha256: data.fingerprint?.sha256,
        examples: { train: data.train.n, val: data.val.n, test: data.test.n },
      },
      parameters,
      config,
    }));
  } else if (!quiet) {
    say(
      `${start ? `resuming ${resumeFrom} at step ${start.step}: ` : ""}` +
        `training ${parameters.toLocaleString("en")} parameters on ` +
        `${data.train.n.toLocaleString("en")} examples from ${from}: ${config.steps} ` +
        `steps, batch ${config.batch}, lr ${config.lr} then ${config.lr / 10} from step ` +
        `${decayStep(config)}, ${config.dtype}, backward ${config.backward}`,
    );
  }

  const live = await liveFromFlags(values, config, data, json ? (l) => console.error(l) : say);
  const stop = new AbortController();
  const run$ = train(config, data, { start, signal: stop.signal }).pipe(share());
  const reporters: Subscription[] = [];
  if (json) reporters.push(jsonLog(run$, say));
  else if (!quiet && Deno.stdout.isTerminal() && Deno.stderr.isTerminal()) {
    reporters.push(progressBar(run$));
  } else if (!quiet) reporters.push(plainLog(run$, say));
  const trace = chartDir === undefined ? undefined : traceRun(run$, config.steps);
  if (trace) reporters.push(trace.subscription);
  live?.follow(run$);

  // Ctrl-C stops the run after the step in progress; the checkpoint (and the charts) are written
  // before exiting.
  const done = await interruptible(stop, (line) => console.error(line), async () => {
    const done = await runToDone(run$);
    if (save !== undefined) {
      await saveCheckpoint(save, {
        config,
        step: done.step,
        model: done.model,
        rngState: done.rngState,
        losses: { train: done.train, val: done.val },
        ...(data.fingerprint ? { data: data.fingerprint } : {}),
      });
    }
    return done;
  });
  if (done.interrupted) {
    for (const r of reporters) r.unsubscribe();
    await live?.close();
    // The charts of the steps done are worth keeping too (a second Ctrl-C skips them).
    if (trace && chartDir !== undefined) {
      const facts = runFacts(config, data, done);
      console.error(chartsLine(chartDir, await writeRunCharts(chartDir, trace.collector, facts)));
    }
    console.error(
      `interrupted at step ${done.step} of ${config.steps}; ` +
        (save === undefined
          ? "nothing saved (--save FILE keeps an interrupted run)"
          : `checkpoint saved to ${save}; continue with: deno task train --resume ${save}`),
    );
    Deno.exit(INTERRUPTED_EXIT);
  }

  const samples = sampleNames(done.model, 20, samplingRandom(config.seed));
  const charts = trace && chartDir !== undefined
    ? await writeRunCharts(chartDir, trace.collector, runFacts(config, data, done))
    : undefined;
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
      ...(charts ? { charts: { report: charts.report, files: charts.files.length } } : {}),
    }));
    if (live) await holdLive(live, (l) => console.error(l));
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
  if (charts && chartDir !== undefined) say(chartsLine(chartDir, charts));
  if (live) await holdLive(live, say);
}

if (import.meta.main) await runMain(main);
