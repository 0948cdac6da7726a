/**
 * `deno task makemore`: makemore.py's command line on ninjagrad. Trains one of makemore's models
 * (exercises/makemore/) on a file of words, one a line (default: the lecture's names), with
 * makemore's split, AdamW and evaluation; saves the model to WORK_DIR/model.safetensors whenever
 * the test loss is the best so far; prints samples. `--json` prints one JSON object a line.
 */
import { join } from "node:path";
import { loadSafetensors, saveSafetensors } from "../../ops/safetensors.ts";
import { seededRandom } from "../../ops/kernels/random.ts";
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { lectureNames } from "../data/load.ts";
import { DEFAULT_SIZES, type ModelConfig } from "../makemore/config.ts";
import { createDatasets, wordsOf } from "../makemore/data.ts";
import { createModel, MODEL_TYPES, type ModelType } from "../makemore/models.ts";
import { samplesText, sampleWords } from "../makemore/sample.ts";
import { Trainer } from "../makemore/train.ts";
import { choiceFlag, type FlagSpec, numberFlag, parseFlags, runMain, userPath } from "./main.ts";

const FLAGS: FlagSpec = {
  "input-file": { type: "string", short: "i" },
  "work-dir": { type: "string", short: "o" },
  resume: { type: "boolean" },
  "sample-only": { type: "boolean" },
  "max-steps": { type: "string" },
  seed: { type: "string" },
  "top-k": { type: "string" },
  type: { type: "string" },
  "n-layer": { type: "string" },
  "n-head": { type: "string" },
  "n-embd": { type: "string" },
  "n-embd2": { type: "string" },
  "batch-size": { type: "string", short: "b" },
  "learning-rate": { type: "string", short: "l" },
  "weight-decay": { type: "string", short: "w" },
  "eval-every": { type: "string" },
  charts: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean" },
};

const USAGE = `deno task makemore [flags]: makemore.py's command line (karpathy/makemore)
  -i, --input-file FILE   words, one a line (default: the lecture's names.txt)
  -o, --work-dir DIR      where model.safetensors goes (default out)
  --resume                start from DIR/model.safetensors
  --sample-only           print 50 samples of DIR/model.safetensors and stop
  --max-steps N           optimisation steps, -1 for no end (default -1)
  --seed N                the split, the initial weights, the batches (default 3407)
  --top-k K               sample among the K likeliest tokens, -1 for all (default -1)
  --type T                ${MODEL_TYPES.join("|")} (default transformer)
  --n-layer N --n-head N --n-embd N --n-embd2 N   sizes (default 4, 4, 64, 64)
  -b, --batch-size N      words per step (default 32)
  -l, --learning-rate LR  AdamW's (default 5e-4)
  -w, --weight-decay WD   AdamW's (default 0.01)
  --eval-every N          train and test loss on 11 batches of 100 every N steps (default 500)
  --charts DIR            the run's training charts and report.html in DIR
  --json                  one JSON object a line; the last: step, train_loss, test_loss`;

const MODEL_FILE = "model.safetensors";

async function main(): Promise<void> {
  const { values, positionals } = parseFlags("makemore", Deno.args, FLAGS);
  if (values.help) return console.log(USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`makemore: unexpected argument "${positionals[0]}" (flags start with --)`);
  }
  const str = (name: string) => values[name] as string | undefined;
  const int = (name: string, fallback: number, min = 1) =>
    numberFlag(name, str(name), fallback, { min, integer: true });
  const type: ModelType = choiceFlag("type", str("type"), MODEL_TYPES, "transformer");
  const maxSteps = int("max-steps", -1, -1), seed = int("seed", 3407, 0);
  const topK = int("top-k", -1, -1), evalEvery = int("eval-every", 500);
  const sizes = {
    nLayer: int("n-layer", DEFAULT_SIZES.nLayer),
    nHead: int("n-head", DEFAULT_SIZES.nHead),
    nEmbd: int("n-embd", DEFAULT_SIZES.nEmbd),
    nEmbd2: int("n-embd2", DEFAULT_SIZES.nEmbd2),
  };
  if (type === "transformer" && sizes.nEmbd % sizes.nHead !== 0) {
    throw new UsageError(
      `--n-embd ${sizes.nEmbd} must be a multiple of --n-head ${sizes.nHead} (each head takes n_embd / n_head)`,
    );
  }
  const options = {
    batchSize: int("batch-size", 32),
    learningRate: numberFlag("learning-rate", str("learning-rate"), 5e-4, { min: 0 }),
    weightDecay: numberFlag("weight-decay", str("weight-decay"), 0.01, { min: 0 }),
  };
  const json = values.json === true, sampleOnly = values["sample-only"] === true;
  const workDir = userPath(str("work-dir") ?? "out");
  const chartDir = str("charts") === undefined ? undefined : userPath(str("charts")!);
  const say = (line: string) => console.log(line);
  const emit = (record: Record<string, unknown>) => json && say(JSON.stringify(record));

  // Data: the words, the vocabulary, the split.
  const input = str("input-file");
  const words = input === undefined ? lectureNames() : wordsOf(await readText(userPath(input)));
  if (words.length < 10) {
    throw new NinjagradError(
      `makemore needs at least 10 words (10% of them are the test split), got ${words.length}`,
    );
  }
  const random = seededRandom(seed);
  const { train, test } = createDatasets(words, random);
  const config: ModelConfig = {
    blockSize: train.outputLength(),
    vocabSize: train.vocabSize(),
    ...sizes,
  };
  const model = createModel(type, config, random);
  const modelPath = join(workDir, MODEL_FILE);
  const meta = {
    type,
    n_layer: String(sizes.nLayer),
    n_head: String(sizes.nHead),
    n_embd: String(sizes.nEmbd),
    n_embd2: String(sizes.nEmbd2),
  };
  const top = topK === -1 ? undefined : topK;

  if (sampleOnly) {
    await load(modelPath, model, meta);
    const samples = sampleWords(model, train, test, 50, { topK: top, seed });
    if (json) emit({ event: "samples", from: modelPath, ...samples });
    else say(samplesText(samples));
    return;
  }

  const trainer = new Trainer(model, train, test, options, random);
  const nParams = Object.values(trainer.params).reduce((n, p) => n + p.value.size, 0);
  if (values.resume === true) await load(modelPath, model, meta);
  const start = {
    event: "start",
    type,
    words: words.length,
    train_words: train.length,
    test_words: test.length,
    vocab_size: config.vocabSize,
    block_size: config.blockSize,
    params: nParams,
    n_layer: sizes.nLayer,
    n_head: sizes.nHead,
    n_embd: sizes.nEmbd,
    n_embd2: sizes.nEmbd2,
    batch_size: options.batchSize,
    learning_rate: options.learningRate,
    weight_decay: options.weightDecay,
    max_steps: maxSteps,
    resumed: values.resume === true,
  };
  if (json) emit(start);
  else {
    say(`number of examples in the dataset: ${words.length}`);
    say(`max word length: ${train.maxWordLength}`);
    say(`number of unique characters in the vocabulary: ${train.chars.length}`);
    say(
      `split up the dataset into ${train.length} training examples and ${test.length} test examples`,
    );
    say(`dataset determined that: vocab_size=${config.vocabSize}, block_size=${config.blockSize}`);
    say(`model #params: ${nParams} (${type})`);
  }

  const viz = chartDir === undefined ? undefined : await import("../../viz/mod.ts");
  const collector = viz && new viz.TraceCollector({ every: 50 });
  await Deno.mkdir(workDir, { recursive: true }).catch((e) => {
    throw new NinjagradError(`cannot make the work directory ${workDir}: ${e.message}`);
  });
  let best: number | undefined;
  const saveIfBest = async (testLoss: number, step: number) => {
    if (best !== undefined && testLoss >= best) return;
    best = testLoss;
    await saveSafetensors(modelPath, model, { metadata: { ...meta, step: String(step) } });
    if (!json) say(`test loss ${testLoss} is the best so far, saving model to ${modelPath}`);
  };

  let step = 0, trainMs = 0;
  const steps = maxSteps < 0 ? Infinity : maxSteps;
  while (step < steps) {
    const t0 = performance.now();
    const { loss, grads } = trainer.step();
    const ms = performance.now() - t0;
    trainMs += ms;
    collector?.next({
      type: "step",
      step: step + 1,
      totalSteps: Number.isFinite(steps) ? steps : step + 1,
      loss,
      lr: options.learningRate,
      model: { graph: trainer.train.graph, params: trainer.params, grads, activations: {} },
    });
    if (step % 10 === 0) {
      if (json) emit({ event: "step", step, loss, ms });
      else say(`step ${step} | loss ${loss.toFixed(4)} | step time ${ms.toFixed(2)}ms`);
    }
    step++;
    if (step % evalEvery === 0 && step < steps) {
      const trainLoss = trainer.evaluate(train), testLoss = trainer.evaluate(test);
      collector?.next({ type: "eval", step, train: trainLoss, val: testLoss });
      if (json) emit({ event: "eval", step, train_loss: trainLoss, test_loss: testLoss });
      else say(`step ${step} train loss: ${trainLoss} test loss: ${testLoss}`);
      await saveIfBest(testLoss, step);
    }
  }

  // The end: the losses over the whole splits.
  const trainLoss = trainer.wholeLoss(train), testLoss = trainer.wholeLoss(test);
  await saveIfBest(testLoss, step);
  const samples = sampleWords(model, train, test, 10, { topK: top, seed });
  if (collector && viz) {
    collector.next({ type: "done", step, train: trainLoss, val: testLoss });
    const charts = await viz.writeTrainingCharts(chartDir!, collector.trace(), {
      title: `makemore ${type}`,
    });
    if (!json) say(`charts written to ${chartDir}; open ${charts.report}`);
  }
  const msPerStep = step > 0 ? trainMs / step : 0;
  if (json) {
    emit({ event: "samples", ...samples });
    emit({
      event: "done",
      step,
      train_loss: trainLoss,
      test_loss: testLoss,
      ms_per_step: msPerStep,
    });
  } else {
    say(samplesText(samples));
    say(
      `step ${step} (whole splits) train loss: ${trainLoss} test loss: ${testLoss}; ${
        msPerStep.toFixed(2)
      } ms a step`,
    );
  }
}

/** The words file's text, or a one-line error. */
async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new NinjagradError(`cannot read the words from ${path}: ${(e as Error).message}`);
  }
}

/** Loads the saved model, refusing a file of another type or other sizes in one line. */
async function load(
  path: string,
  model: Parameters<typeof loadSafetensors>[1],
  meta: Record<string, string>,
): Promise<void> {
  let saved: Record<string, string>;
  try {
    const { decodeSafetensors } = await import("../../ops/safetensors.ts");
    saved = decodeSafetensors(await Deno.readFile(path), path).metadata;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NinjagradError(
        `no saved model at ${path}: train one first (deno task makemore -o DIR), or give its -o`,
      );
    }
    throw e instanceof NinjagradError ? e : new NinjagradError(`cannot read ${path}: ${e}`);
  }
  for (const [k, v] of Object.entries(meta)) {
    if (saved[k] !== undefined && saved[k] !== v) {
      throw new NinjagradError(
        `${path} holds a model with ${k} ${saved[k]}, not ${v}: give --${k.replace("_", "-")} ${
          saved[k]
        }`,
      );
    }
  }
  await loadSafetensors(path, model);
}

if (import.meta.main) await runMain(main);
