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
    // column that comes free, and embeds each. The same indices here, without the loop's
    // state: idx after block_size − 1 <BLANK> columns, and idx rolled k times is the window of
    // t columns that ends k before the end. B is live, read off idx on every run, and the
    // windows end at −k, so they follow t too: one graph takes any batch and any length.
    const B = idx.size(0), pad = this.blockSize - 1;
    const blank = idx.graph.constant(Tensor.from([[this.vocabSize]], "int32"));
    const padded = concat([expand(blank, [B, pad]), idx], 1); // (b, block_size − 1 + t)
    const embs: Node[] = [];
    for (let k = 0; k < this.blockSize; k++) {
      const rolled = slice(padded, 1, pad - k, -k || null); // idx rolled k times, (b, t)
      embs.push(this.wte.forward(rolled)); // token embeddings of shape (b, t, n_embd)
    }
    // Concat all of the embeddings together and pass through the MLP.
    const x = concat(embs, -1); // (b, t, n_embd * block_size)
    const logits = this.mlp.forward(x);
    const loss = targets && crossEntropy(logits, targets, { ignoreIndex: -1 });
    return [logits, loss];
  }
}
