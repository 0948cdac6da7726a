/**
 * makemore.py's ModelConfig: the sizes every model reads (block_size and vocab_size come from the
 * dataset; the rest from the command line, with makemore's defaults).
 */
import { type Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import { slice } from "../../ops/build.ts";

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
 * The causal mask of x's (T, T) attention, 1 above the diagonal (the future, to be masked), as
 * makemore's `self.bias[:, :, :T, :T] == 0`: a (block_size, block_size) constant of x's graph,
 * sliced by T = x.size(1), which is read on every run, so one graph attends over any T up to
 * block_size (a sampler's growing context). In the graph's float dtype, as the slices give.
 */
export function futureMask(x: Node, blockSize: number): Node {
  const future = Tensor.zeros([blockSize, blockSize], x.graph.dtype);
  for (let i = 0; i < blockSize; i++) {
    for (let j = i + 1; j < blockSize; j++) future.data[i * blockSize + j] = 1;
  }
  const T = x.size(1);
  return slice(slice(x.graph.constant(future), 0, 0, T), 1, 0, T);
}
