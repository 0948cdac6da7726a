/**
 * makemore.py's MLP (Bengio et al. 2003): the embeddings of the previous block_size tokens,
 * concatenated, through a tanh hidden layer. Open it beside makemore.py's `class MLP`.
 */
import * as nn from "../../ops/layers.ts";
import { concat, crossEntropy, slice } from "../../ops/build.ts";
import { expand } from "../../ops/torch.ts";
import { type Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { ModelConfig, Random } from "./config.ts";

/** MLP language model. */
export class MLP extends nn.Module {
  readonly blockSize: number;
  readonly vocabSize: number;
  wte: nn.Embedding;
  mlp: nn.Sequential;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.blockSize = config.blockSize;
    this.vocabSize = config.vocabSize;
    // +1 for a special <BLANK> token, encoded before the beginning of the input sequence.
    this.wte = new nn.Embedding(config.vocabSize + 1, config.nEmbd, { random });
    this.mlp = new nn.Sequential([
      new nn.Linear(this.blockSize * config.nEmbd, config.nEmbd2, { init: "pytorch", random }),
      new nn.Tanh(),
      new nn.Linear(config.nEmbd2, this.vocabSize, { init: "pytorch", random }),
    ]);
  }

  getBlockSize(): number {
    return this.blockSize;
  }

  forward(idx: Node, targets?: Node): [Node, Node | undefined] {
    // makemore rolls idx right by one position block_size times, writing <BLANK> into the
    // columns that come free, and embeds each. Here the indices are an int32 input, so the
    // rows are rolled after the lookup instead: the k-th is the embedding of k blanks followed
    // by the first T − k tokens. Same rows, same gradients (the blank's row gets the blanks').
    const [B, T] = idx.shape, C = this.wte.dim;
    const tokEmb = this.wte.forward(idx); // (b, t, n_embd)
    const blankIdx = idx.graph.constant(Tensor.from([[this.vocabSize]], "int32"));
    const blank = this.wte.forward(blankIdx); // (1, 1, n_embd)
    const embs: Node[] = [tokEmb];
    for (let k = 1; k < this.blockSize; k++) {
      if (k >= T) {
        embs.push(expand(blank, [B, T, C]));
        continue;
      }
      embs.push(concat([expand(blank, [B, k, C]), slice(tokEmb, 1, 0, T - k)], 1));
    }
    // Concat all of the embeddings together and pass through the MLP.
    const x = concat(embs, -1); // (b, t, n_embd * block_size)
    const logits = this.mlp.forward(x);
    const loss = targets && crossEntropy(logits, targets, { ignoreIndex: -1 });
    return [logits, loss];
  }
}
