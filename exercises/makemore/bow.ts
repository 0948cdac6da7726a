/**
 * makemore.py's BoW: token and position embeddings, a causal bag of words (the mean of the
 * preceding positions' features), an MLP, and a linear decoder. Open it beside makemore.py's
 * `class CausalBoW`, `class BoWBlock` and `class BoW`.
 */
import * as nn from "../../ops/layers.ts";
import { add, crossEntropy, matmul, slice, softmax, tanh } from "../../ops/build.ts";
import { arangeLike, maskedFill } from "../../ops/torch.ts";
import { type Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import { futureMask, type ModelConfig, type Random } from "./config.ts";

/** Causal bag of words: averages the preceding elements (an attention with equal weights). */
export class CausalBoW extends nn.Module {
  readonly blockSize: number;

  constructor(config: ModelConfig) {
    super();
    this.blockSize = config.blockSize;
  }

  forward(x: Node): Node {
    // The weighted average of all preceding token features: zeros, the future masked, softmax.
    // T = x.size(1) is read on every run: the (T, T) zeros and mask follow it.
    const T = x.size(1), size = this.blockSize;
    const full = x.graph.constant(Tensor.zeros([size, size], x.graph.dtype));
    const zeros = slice(slice(full, 0, 0, T), 1, 0, T);
    const att = softmax(maskedFill(zeros, futureMask(x, size), -Infinity), -1);
    return matmul(att, x); // (T, T) x (B, T, C) -> (B, T, C)
  }
}

/** The BoW's MLP: c_fc, tanh, c_proj. */
export class BoWMLP extends nn.Module {
  c_fc: nn.Linear;
  c_proj: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.c_fc = new nn.Linear(config.nEmbd, config.nEmbd2, { init: "pytorch", random });
    this.c_proj = new nn.Linear(config.nEmbd2, config.nEmbd, { init: "pytorch", random });
  }

  forward(x: Node): Node {
    return this.c_proj.forward(tanh(this.c_fc.forward(x)));
  }
}

/** Collects BoW features and adds an MLP. */
export class BoWBlock extends nn.Module {
  cbow: CausalBoW;
  mlp: BoWMLP;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.cbow = new CausalBoW(config);
    this.mlp = new BoWMLP(config, random);
  }

  forward(x: Node): Node {
    x = add(x, this.cbow.forward(x));
    return add(x, this.mlp.forward(x));
  }
}

/** Bag-of-words language model. */
export class BoW extends nn.Module {
  readonly blockSize: number;
  readonly vocabSize: number;
  wte: nn.Embedding;
  wpe: nn.Embedding;
  context_block: BoWBlock;
  lm_head: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.blockSize = config.blockSize;
    this.vocabSize = config.vocabSize;
    this.wte = new nn.Embedding(config.vocabSize, config.nEmbd, { random }); // token embedding
    this.wpe = new nn.Embedding(config.blockSize, config.nEmbd, { random }); // position embedding
    this.context_block = new BoWBlock(config, random);
    this.lm_head = new nn.Linear(config.nEmbd, this.vocabSize, { init: "pytorch", random });
  }

  getBlockSize(): number {
    return this.blockSize;
  }

  forward(idx: Node, targets?: Node): [Node, Node | undefined] {
    const pos = arangeLike(idx, 1); // (t,)
    const tokEmb = this.wte.forward(idx); // (b, t, n_embd)
    const posEmb = this.wpe.forward(pos); // (t, n_embd)
    const x = this.context_block.forward(add(tokEmb, posEmb));
    const logits = this.lm_head.forward(x);
    const loss = targets && crossEntropy(logits, targets, { ignoreIndex: -1 });
    return [logits, loss];
  }
}
