/**
 * makemore.py's print_samples: words generated from the 0 (start) token, cut at the first 0
 * (stop), and sorted into those in the training split, those in the test split, and new ones.
 */
import { generate } from "../../ops/generate.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { CharDataset } from "./data.ts";
import type { MakemoreModel } from "./models.ts";

/** Sampled words, by where they are found. */
export interface Samples {
  train: string[];
  test: string[];
  new: string[];
}

/** `num` words sampled from the model (top-k when `topK` is given), seeded by `seed`. */
export function sampleWords(
  model: MakemoreModel,
  train: CharDataset,
  test: CharDataset,
  num: number,
  options: { topK?: number; seed: number },
): Samples {
  const steps = train.outputLength() - 1; // −1: the <START> token is already there
  const out = generate(model, Tensor.zeros([num, 1], "int32"), steps, {
    topK: options.topK,
    doSample: true,
    seed: options.seed,
  });
  const samples: Samples = { train: [], test: [], new: [] };
  const width = steps + 1;
  for (let i = 0; i < num; i++) {
    const row = [...out.data.subarray(i * width + 1, (i + 1) * width)];
    const stop = row.indexOf(0);
    const word = train.decode(stop < 0 ? row : row.slice(0, stop));
    if (train.contains(word)) samples.train.push(word);
    else if (test.contains(word)) samples.test.push(word);
    else samples.new.push(word);
  }
  return samples;
}

/** The samples as makemore prints them. */
export function samplesText(s: Samples): string {
  const lines = ["-".repeat(80)];
  for (
    const [list, desc] of [[s.train, "in train"], [s.test, "in test"], [s.new, "new"]] as const
  ) {
    lines.push(`${list.length} samples that are ${desc}:`, ...list);
  }
  lines.push("-".repeat(80));
  return lines.join("\n");
}
