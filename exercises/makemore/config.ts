/**
 * makemore.py's ModelConfig: the sizes every model reads (block_size and vocab_size come from the
 * dataset; the rest from the command line, with makemore's defaults).
 */
import { type Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";

/** The sizes of a model, as makemore's ModelConfig. */
export interface ModelConfig {
  /** Length of the input sequences (the longest word plus the start token). */
  blockSize: number;
  /** Number of tokens: the characters plus the 0 token (start and stop). */
  vocabSize: number;
  /** Transformer blocks (default 4). */
  nLayer: number;
  /** Feature channels of the model (default 64). */
  nEmbd: number;
  /** Feature channels elsewhere: the MLP's hidden layer, the RNN's state (default 64). */
  nEmbd2: number;
  /** Attention heads of the Transformer (default 4). */
  nHead: number;
}

/** makemore's defaults of the sizes the command line sets. */
export const DEFAULT_SIZES = { nLayer: 4, nEmbd: 64, nEmbd2: 64, nHead: 4 } as const;

/** A uniform [0, 1) generator, as the layers take for their initial weights. */
export type Random = () => number;

/**
 * The causal mask of a (T, T) attention: 1 above the diagonal (the future, to be masked), as
 * `self.bias[:, :, :T, :T] == 0` in makemore, made once as a constant of x's graph.
 */
export function futureMask(x: Node, T: number): Node {
  const future = Tensor.zeros([T, T], "int32");
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) future.data[i * T + j] = 1;
  return x.graph.constant(future);
}
