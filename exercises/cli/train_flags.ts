/**
 * The flags of `deno task train`, each checked: the run's config (`configFromFlags`) and how
 * often it writes its checkpoint (`checkpointEveryFlag`).
 */
import { UsageError } from "../../ops/kernels/errors.ts";
import { choiceFlag, type FlagSpec, numberFlag } from "./main.ts";
import { RNG_KINDS } from "../rng/recipe.ts";
import {
  BATCH_MESSAGE,
  decayStep,
  DEFAULT_CONFIG,
  MAX_LR,
  MAX_STEPS,
  smallestLr,
  type TrainConfig,
} from "../train/config.ts";

/** The flags of `deno task train`. */
export const FLAGS: FlagSpec = {
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
  "checkpoint-every": { type: "string" },
  "detect-anomaly": { type: "boolean" },
  charts: { type: "string" },
  "no-charts": { type: "boolean" },
  live: { type: "boolean" },
  port: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** `deno task train --help`. */
export const USAGE = `deno task train [flags]: exercise 4, training with the hand-written backward
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
  --save FILE      write a checkpoint at the end, on Ctrl-C, SIGTERM or SIGHUP, and every
                   --checkpoint-every while training (for deno task sample, --resume)
  --checkpoint-every N|Ns|Nm  every N steps, seconds or minutes (default 30s; 0: at the end)
  --resume FILE    continue a saved run to --steps (default: its own), saving back to FILE
                   unless --save says otherwise; other settings come from the checkpoint
  --detect-anomaly stop at the first node whose value or gradient is NaN or Inf, naming it
  --charts DIR     write the training charts (.vl.json, .svg, .png) and report.html into DIR
                   (deno task train writes them to charts/ where you ran it)
  --no-charts      write no charts
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
  const dtype = choiceFlag("dtype", str("dtype"), ["float32", "float64"], DEFAULT_CONFIG.dtype);
  const lr = numberFlag("lr", str("lr"), DEFAULT_CONFIG.lr);
  if (!(lr > 0)) throw new UsageError(`--lr must be a positive number, got ${str("lr")}`);
  if (lr > MAX_LR) {
    throw new UsageError(
      `--lr ${str("lr")} is too large to train: the first update would throw the weights far ` +
        `past any useful value; use at most ${MAX_LR}`,
    );
  }
  if (lr < smallestLr(dtype)) {
    throw new UsageError(
      `--lr ${str("lr")} is too small to train: every update lr × gradient would be lost in ` +
        `the rounding of ${dtype} weights and the run would never move; use at least ` +
        `${smallestLr(dtype)}`,
    );
  }
  const steps = numberFlag("steps", str("steps"), DEFAULT_CONFIG.steps, {
    min: 1,
    max: MAX_STEPS,
    integer: true,
  });
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
    dtype,
    backward: choiceFlag("backward", str("backward"), ["manual", "auto"], DEFAULT_CONFIG.backward),
    evalEvery: whole("eval-every", DEFAULT_CONFIG.evalEvery, 0),
    ...(values["detect-anomaly"] === true ? { detectAnomaly: true } : {}),
  };
}

/** The default of `--checkpoint-every` when a run saves. */
const CHECKPOINT_EVERY = { ms: 30_000 };

/** `--checkpoint-every N|Ns|Nm|Nh`: steps or a time; 0 writes only at the end. */
export function checkpointEveryFlag(
  value: string | undefined,
  saving: boolean,
): { steps: number } | { ms: number } | undefined {
  if (value === undefined) return saving ? CHECKPOINT_EVERY : undefined;
  if (!saving) {
    throw new UsageError("--checkpoint-every needs --save FILE (or --resume FILE) to write to");
  }
  const m = value.match(/^(\d+)(s|m|h)?$/);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n)) {
    throw new UsageError(
      `--checkpoint-every must be a number of steps, or of seconds, minutes or hours (90s, 5m, ` +
        `1h), got "${value}"`,
    );
  }
  if (n === 0) return undefined;
  const unit = m[2];
  return unit === undefined ? { steps: n } : { ms: n * { s: 1e3, m: 6e4, h: 36e5 }[unit]! };
}
