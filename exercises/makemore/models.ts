/** The makemore models by `--type`, as makemore.py's `if args.type == ...` chain. */
import type * as nn from "../../ops/layers.ts";
import { Bigram } from "./bigram.ts";
import { BoW } from "./bow.ts";
import type { ModelConfig, Random } from "./config.ts";
import { MLP } from "./mlp.ts";
import { RNN } from "./rnn.ts";
import { Transformer } from "./transformer.ts";

/** The model types, as `--type` takes them. */
export const MODEL_TYPES = ["bigram", "mlp", "rnn", "gru", "bow", "transformer"] as const;
/** One of {@link MODEL_TYPES}. */
export type ModelType = typeof MODEL_TYPES[number];

/** A makemore model: forward(idx, targets?) gives [logits, loss]. */
export type MakemoreModel = nn.Module & { getBlockSize(): number };

/** The model of `type`, its weights drawn from `random`. */
export function createModel(type: ModelType, config: ModelConfig, random: Random): MakemoreModel {
  switch (type) {
    case "bigram":
      return new Bigram(config);
    case "mlp":
      return new MLP(config, random);
    case "rnn":
      return new RNN(config, "rnn", random);
    case "gru":
      return new RNN(config, "gru", random);
    case "bow":
      return new BoW(config, random);
    case "transformer":
      return new Transformer(config, random);
  }
}
