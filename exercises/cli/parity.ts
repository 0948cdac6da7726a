/**
 * `deno task parity [--data PATH] [--shuffle-seed 42] [--seed 2147483647] [--default-seed 42]
 * [--hidden 64] [--json]`: what the lecture's seeds produce with the project's torch- and
 * CPython-compatible generators. Human-readable by default; `--json` prints one object with the
 * keys of `golden/parity_lecture.json`.
 * @module
 */
import { UsageError } from "../../ops/kernels/errors.ts";
import { numberFlag, parseFlags, runMain } from "./main.ts";
import { loadNames } from "../data.ts";
import { computeParity, type ParityReport } from "../parity.ts";
import { LECTURE_SEEDS } from "../rng/recipe.ts";

const SEED_MAX = 2 ** 32 - 1; // torch keeps a seed's low 32 bits; larger ones would alias

/** Parses the flags, computes the report and prints it. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("parity", args, {
    data: { type: "string" },
    "shuffle-seed": { type: "string" },
    seed: { type: "string" },
    "default-seed": { type: "string" },
    hidden: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`parity takes no arguments, got "${positionals[0]}" (see --data PATH)`);
  }
  // parseArgs types every value as string | boolean; these flags are all strings.
  const str = (name: string) => {
    const v = values[name];
    return typeof v === "string" ? v : undefined;
  };
  const seedFlag = (name: string, fallback: number) =>
    numberFlag(name, str(name), fallback, {
      min: 0,
      max: SEED_MAX,
      integer: true,
    });
  const seeds = {
    shuffleSeed: seedFlag("shuffle-seed", LECTURE_SEEDS.shuffleSeed),
    seed: seedFlag("seed", LECTURE_SEEDS.seed),
    defaultSeed: seedFlag("default-seed", LECTURE_SEEDS.defaultSeed),
  };
  const nHidden = numberFlag("hidden", str("hidden"), 64, { min: 1, max: 65536, integer: true });
  const data = str("data");
  const words = await loadNames(data);
  const report = computeParity({ words, seeds, nHidden });
  console.log(values.json ? JSON.stringify(report, null, 1) : describe(report, data));
}

/** The report as the lecture's code would compute it, one line per step. */
export function describe(r: ParityReport, data: string | undefined): string {
  const nums = (xs: number[], digits = 8) => xs.map((x) => x.toFixed(digits)).join(" ");
  const int = (n: number) => n.toLocaleString("en-US");
  const source = data === undefined
    ? "the built-in names (pass --data names.txt for the lecture's numbers)"
    : data;
  const [ntr, nva, nte] = r.split_sizes;
  return [
    `lecture parity — ${r.source}`,
    `data         ${source}: ${int(r.n_words)} names`,
    `shuffle      random.seed(${r.shuffle_seed}); random.shuffle(words)`,
    `  first 8    ${r.first_shuffled.join(" ")}`,
    `  split      train ${int(ntr)} / val ${int(nva)} / test ${int(nte)} examples`,
    `generator    g = torch.Generator().manual_seed(${r.torch_seed})`,
    `  C[0]       ${nums(r.C_first_row)}`,
    `  W1 sum     ${r.W1_sum.toFixed(6)}   (randn · (5/3)/sqrt(fan_in))`,
    `  b1[:4]     ${nums(r.b1_first)}`,
    `  W2 sum     ${r.W2_sum.toFixed(6)}`,
    `  b2[:4]     ${nums(r.b2_first)}`,
    `default gen  torch.manual_seed(${r.default_generator_seed})`,
    `  bngain[:4] ${nums(r.bngain_first)}`,
    `  bnbias[:4] ${nums(r.bnbias_first)}`,
    `minibatch    torch.randint(0, ${ntr}, (${r.batch_ix.length},), generator=g)`,
    `  ix         ${r.batch_ix.join(" ")}`,
    `loss         ${
      r.initial_loss.toFixed(6)
    }   (float32, exercise-1 net, n_hidden ${r.n_hidden}, ` +
    `${int(r.n_params)} parameters)`,
  ].join("\n");
}

if (import.meta.main) await runMain(() => main(Deno.args));
