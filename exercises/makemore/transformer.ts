/**
 * makemore.py's Transformer (GPT-2's, without dropout): token and position embeddings, n_layer
 * blocks of causal self-attention and an MLP with NewGELU, a final LayerNorm and a linear head.
 * Open it beside makemore.py's `class CausalSelfAttention`, `class Block` and `class Transformer`.
 */
import * as nn from "../../ops/layers.ts";
import {
  add,
  crossEntropy,
  gelu,
  matmul,
  mul,
  reshape,
  softmax,
  transpose,
} from "../../ops/build.ts";
import { arangeLike, maskedFill, split } from "../../ops/torch.ts";
import { type Node } from "../../graph/node.ts";
import { futureMask, type ModelConfig, type Random } from "./config.ts";

/** Multi-head masked self-attention with a projection at the end. */
export class CausalSelfAttention extends nn.Module {
  readonly nHead: number;
  readonly nEmbd: number;
  readonly blockSize: number;
  c_attn: nn.Linear;
  c_proj: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    if (config.nEmbd % config.nHead !== 0) {
      throw new Error(`n_embd ${config.nEmbd} is not a multiple of n_head ${config.nHead}`);
    }
    // Key, query, value projections for all heads, in a batch; then the output projection.
    this.c_attn = new nn.Linear(config.nEmbd, 3 * config.nEmbd, { init: "pytorch", random });
    this.c_proj = new nn.Linear(config.nEmbd, config.nEmbd, { init: "pytorch", random });
    this.nHead = config.nHead;
    this.nEmbd = config.nEmbd;
    // The causal mask's size: forward slices it by the T of each run.
    this.blockSize = config.blockSize;
  }

  forward(x: Node): Node {
    const [B, T, C] = x.shape, hs = C / this.nHead;
    // Query, key, values for all heads; move the head forward to be a batch axis: (B, nh, T, hs).
    const heads = (t: Node) => transpose(reshape(t, [B, T, this.nHead, hs]), 1, 2);
    const [q, k, v] = split(this.c_attn.forward(x), this.nEmbd, 2).map(heads);
    // Causal self-attention: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T).
    let att = mul(matmul(q, transpose(k, -2, -1)), 1 / Math.sqrt(hs));
    att = maskedFill(att, futureMask(x, this.blockSize), -Infinity);
    att = softmax(att, -1);
    const y = matmul(att, v); // (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
    // Re-assemble all head outputs side by side, then project.
    return this.c_proj.forward(reshape(transpose(y, 1, 2), [B, T, C]));
  }
}

/** The block's MLP: c_fc, NewGELU (gelu's tanh form), c_proj. */
export class BlockMLP extends nn.Module {
  c_fc: nn.Linear;
  c_proj: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.c_fc = new nn.Linear(config.nEmbd, 4 * config.nEmbd, { init: "pytorch", random });
    this.c_proj = new nn.Linear(4 * config.nEmbd, config.nEmbd, { init: "pytorch", random });
  }

  forward(x: Node): Node {
    return this.c_proj.forward(gelu(this.c_fc.forward(x), { approximate: "tanh" }));
  }
}

/** An unassuming Transformer block. */
export class Block extends nn.Module {
  ln_1: nn.LayerNorm;
  attn: CausalSelfAttention;
  ln_2: nn.LayerNorm;
  mlp: BlockMLP;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.ln_1 = new nn.LayerNorm(config.nEmbd);
    this.attn = new CausalSelfAttention(config, random);
    this.ln_2 = new nn.LayerNorm(config.nEmbd);
    this.mlp = new BlockMLP(config, random);
  }

  forward(x: Node): Node {
    x = add(x, this.attn.forward(this.ln_1.forward(x)));
    return add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
}

/** Transformer language model, as seen in GPT-2. */
export class Transformer extends nn.Module {
  readonly blockSize: number;
  transformer: { wte: nn.Embedding; wpe: nn.Embedding; h: Block[]; ln_f: nn.LayerNorm };
  lm_head: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    this.blockSize = config.blockSize;
    // makemore's nn.ModuleDict: an object literal of modules (named transformer.wte, …).
    this.transformer = {
      wte: new nn.Embedding(config.vocabSize, config.nEmbd, { random }),
      wpe: new nn.Embedding(config.blockSize, config.nEmbd, { random }),
      h: Array.from({ length: config.nLayer }, () => new Block(config, random)),
      ln_f: new nn.LayerNorm(config.nEmbd),
    };
    this.lm_head = new nn.Linear(config.nEmbd, config.vocabSize, {
      bias: false,
      init: "pytorch",
      random,
    });
  }

  getBlockSize(): number {
    return this.blockSize;
  }

  forward(idx: Node, targets?: Node): [Node, Node | undefined] {
    const t = idx.shape[1];
    if (t > this.blockSize) {
      throw new Error(`cannot forward a sequence of length ${t}, block size is ${this.blockSize}`);
    }
    const { wte, wpe, h, ln_f } = this.transformer;
    const pos = arangeLike(idx, 1); // (t,)
    const tokEmb = wte.forward(idx); // token embeddings of shape (b, t, n_embd)
    const posEmb = wpe.forward(pos); // position embeddings of shape (t, n_embd)
    let x = add(tokEmb, posEmb);
    for (const block of h) x = block.forward(x);
    const logits = this.lm_head.forward(ln_f.forward(x));
    const loss = targets && crossEntropy(logits, targets, { ignoreIndex: -1 });
    return [logits, loss];
  }
}
