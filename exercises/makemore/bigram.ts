/**
 * makemore.py's Bigram: a (vocab, vocab) table of logits, the row of the previous character
 * giving the next one's. Open it beside makemore.py's `class Bigram`.
 */
import * as nn from "../../ops/layers.ts";
import { crossEntropy, embedding } from "../../ops/build.ts";
import { type Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { ModelConfig } from "./config.ts";

/** Bigram language model: a lookup table of logits for the next character. */
export class Bigram extends nn.Module {
  logits: nn.Parameter;

  constructor(config: ModelConfig) {
    super();
    const n = config.vocabSize;
    this.logits = new nn.Parameter(Tensor.zeros([n, n], "float64"));
  }

  /** This model only needs one previous character to predict the next. */
  getBlockSize(): number {
    return 1;
  }

  /** logits = self.logits[idx]; the loss over the targets that are not −1. */
  forward(idx: Node, targets?: Node): [Node, Node | undefined] {
    const logits = embedding(this.logits.in(idx.graph), idx);
    const loss = targets && crossEntropy(logits, targets, { ignoreIndex: -1 });
    return [logits, loss];
  }
}
