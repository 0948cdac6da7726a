/**
 * The exercise-1 model: the lecture's MLP with its forward pass broken into atomic steps, one node
 * per line of LECTURE.md's table, each labelled with the lecture's variable name. Exercises 2 and
 * 3 build the same net with the loss or the batchnorm fused into one composite node.
 * @module
 */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import {
  type FloatDType,
  formatShape,
  sameShape,
  type Shape,
  Tensor,
} from "../../ops/kernels/tensor.ts";
import * as b from "../../ops/build.ts";

/** The net's sizes. */
export interface Ex1Sizes {
  /** Symbols in the vocabulary (27). */
  vocab: number;
  /** Embedding width (n_embd, 10). */
  nEmbd: number;
  /** Hidden units (n_hidden, 64). */
  nHidden: number;
  /** Context length (block_size, 3). */
  blockSize: number;
  /** Examples in the minibatch (n, 32). */
  batch: number;
}

/** The lecture's exercise 1–3 sizes. */
export const EX1_SIZES: Readonly<Ex1Sizes> = Object.freeze({
  vocab: 27,
  nEmbd: 10,
  nHidden: 64,
  blockSize: 3,
  batch: 32,
});

/** The parameters, in the order the lecture creates (and draws) them. */
export const EX1_PARAMS = ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"] as const;
/** A parameter's name. */
export type Ex1ParamName = typeof EX1_PARAMS[number];
/** Parameter values by name. */
export type Ex1Params = Record<Ex1ParamName, Tensor>;

/** The 19 intermediate nodes of the table, in forward order (the loss comes after them). */
export const EX1_VALUES = [
  "emb",
  "embcat",
  "hprebn",
  "bnmeani",
  "bndiff",
  "bndiff2",
  "bnvar",
  "bnvar_inv",
  "bnraw",
  "hpreact",
  "h",
  "logits",
  "logit_maxes",
  "norm_logits",
  "counts",
  "counts_sum",
  "counts_sum_inv",
  "probs",
  "logprobs",
] as const;
/** An intermediate node's label. */
export type Ex1ValueName = typeof EX1_VALUES[number];

/** The lecture's cmp rows: every gradient of exercise 1, in the lecture's (backward) order. */
export const EX1_ROWS = [
  "logprobs",
  "probs",
  "counts_sum_inv",
  "counts_sum",
  "counts",
  "norm_logits",
  "logit_maxes",
  "logits",
  "h",
  "W2",
  "b2",
  "hpreact",
  "bngain",
  "bnbias",
  "bnraw",
  "bnvar_inv",
  "bnvar",
  "bndiff2",
  "bndiff",
  "bnmeani",
  "hprebn",
  "embcat",
  "W1",
  "b1",
  "emb",
  "C",
] as const;
/** A cmp row's label. */
export type Ex1RowName = typeof EX1_ROWS[number];

/** The shape of every parameter for these sizes. */
export function ex1ParamShapes(s: Omit<Ex1Sizes, "batch">): Record<Ex1ParamName, Shape> {
  return {
    C: [s.vocab, s.nEmbd],
    W1: [s.blockSize * s.nEmbd, s.nHidden],
    b1: [s.nHidden],
    W2: [s.nHidden, s.vocab],
    b2: [s.vocab],
    bngain: [1, s.nHidden],
    bnbias: [1, s.nHidden],
  };
}

/**
 * The sizes that the parameters and the minibatch imply, or an error naming the tensor whose
 * shape does not fit the others.
 */
export function ex1SizesOf(params: Ex1Params, Xb: Tensor, Yb: Tensor): Ex1Sizes {
  const { C, W1 } = params;
  if (C.shape.length !== 2) {
    throw new NinjagradError(`C must be 2-D (vocab, n_embd), got ${formatShape(C.shape)}`);
  }
  if (Xb.shape.length !== 2) {
    throw new NinjagradError(`Xb must be 2-D (batch, block_size), got ${formatShape(Xb.shape)}`);
  }
  if (W1.shape.length !== 2) {
    throw new NinjagradError(
      `W1 must be 2-D (block_size·n_embd, n_hidden), got ${formatShape(W1.shape)}`,
    );
  }
  const sizes: Ex1Sizes = {
    vocab: C.shape[0],
    nEmbd: C.shape[1],
    nHidden: W1.shape[1],
    blockSize: Xb.shape[1],
    batch: Xb.shape[0],
  };
  const want = ex1ParamShapes(sizes);
  for (const name of EX1_PARAMS) {
    if (!sameShape(params[name].shape, want[name])) {
      throw new NinjagradError(
        `${name} has shape ${formatShape(params[name].shape)}, but C ${formatShape(C.shape)}, ` +
          `W1 ${formatShape(W1.shape)} and Xb ${formatShape(Xb.shape)} call for ${
            formatShape(want[name])
          }`,
      );
    }
  }
  if (!sameShape(Yb.shape, [sizes.batch])) {
    throw new NinjagradError(
      `Yb has shape ${formatShape(Yb.shape)}, but Xb ${
        formatShape(Xb.shape)
      } calls for (${sizes.batch},)`,
    );
  }
  if (Xb.dtype !== "int32" || Yb.dtype !== "int32") {
    throw new NinjagradError("Xb and Yb must be int32 tensors of symbol indices");
  }
  if (sizes.batch < 2) {
    throw new NinjagradError(
      `the batch has ${sizes.batch} example: batchnorm's unbiased variance divides by n − 1, so it needs at least 2`,
    );
  }
  return sizes;
}

/** Which part of the net is one composite node: none (exercise 1), the loss (2), batchnorm (3). */
export type Ex1Fuse = "none" | "crossEntropy" | "batchNorm";

/** The built net. */
export interface Ex1Model {
  /** The graph, with every node of the table labelled. */
  graph: Graph;
  /** The sizes it was built for. */
  sizes: Ex1Sizes;
  /** Which part is fused into a composite op. */
  fuse: Ex1Fuse;
  /** The parameter leaves by name. */
  params: Record<Ex1ParamName, Node>;
  /** The minibatch's contexts (batch, block_size), int32. */
  Xb: Node;
  /** The minibatch's targets (batch,), int32. */
  Yb: Node;
  /** The scalar loss. */
  loss: Node;
}

/** Options of {@link buildEx1}. */
export interface BuildEx1Options {
  /** The graph's float dtype (default float32, the lecture's). */
  dtype?: FloatDType;
  /** Fuse the loss (exercise 2) or the batchnorm (exercise 3) into one composite node. */
  fuse?: Ex1Fuse;
}

/**
 * Builds the lecture's forward pass from parameter values and a minibatch, in a new graph. Sizes
 * are read off the tensors (any vocab, n_embd, n_hidden, block_size, batch ≥ 2); the parameters
 * are copied into the graph's dtype. Only atomic ops are used, except for what `fuse` asks.
 */
export function buildEx1(
  params: Ex1Params,
  Xb: Tensor,
  Yb: Tensor,
  options: BuildEx1Options = {},
): Ex1Model {
  const sizes = ex1SizesOf(params, Xb, Yb);
  const fuse = options.fuse ?? "none";
  const graph = new Graph({ dtype: options.dtype ?? "float32" });
  const p = {} as Record<Ex1ParamName, Node>;
  for (const name of EX1_PARAMS) p[name] = graph.param(name, params[name].clone(graph.dtype));
  const { C, W1, b1, W2, b2, bngain, bnbias } = p;
  const xb = graph.input("Xb", Xb.clone());
  const yb = graph.input("Yb", Yb.clone());
  const n = sizes.batch;

  const emb = b.embedding(C, xb).named("emb");
  const embcat = b.reshape(emb, [n, sizes.blockSize * sizes.nEmbd]).named("embcat");
  const hprebn = b.add(b.matmul(embcat, W1), b1).named("hprebn");
  let hpreact: Node;
  if (fuse === "batchNorm") {
    hpreact = b.batchNorm(hprebn, bngain, bnbias, 1e-5).named("hpreact");
  } else {
    const bnmeani = b.mul(1 / n, b.sum(hprebn, 0, true)).named("bnmeani");
    const bndiff = b.sub(hprebn, bnmeani).named("bndiff");
    const bndiff2 = b.pow(bndiff, 2).named("bndiff2");
    // Bessel's correction: divide by n − 1, as the lecture does.
    const bnvar = b.mul(1 / (n - 1), b.sum(bndiff2, 0, true)).named("bnvar");
    const bnvarInv = b.pow(b.add(bnvar, 1e-5), -0.5).named("bnvar_inv");
    const bnraw = b.mul(bndiff, bnvarInv).named("bnraw");
    hpreact = b.add(b.mul(bngain, bnraw), bnbias).named("hpreact");
  }
  const h = b.tanh(hpreact).named("h");
  const logits = b.add(b.matmul(h, W2), b2).named("logits");
  let loss: Node;
  if (fuse === "crossEntropy") {
    loss = b.crossEntropy(logits, yb).named("loss");
  } else {
    const logitMaxes = b.max(logits, 1, true).named("logit_maxes");
    const normLogits = b.sub(logits, logitMaxes).named("norm_logits");
    const counts = b.exp(normLogits).named("counts");
    const countsSum = b.sum(counts, 1, true).named("counts_sum");
    const countsSumInv = b.pow(countsSum, -1).named("counts_sum_inv");
    const probs = b.mul(counts, countsSumInv).named("probs");
    const logprobs = b.log(probs).named("logprobs");
    loss = b.neg(b.mean(b.pick(logprobs, yb), 0)).named("loss");
  }
  return { graph, sizes, fuse, params: p, Xb: xb, Yb: yb, loss };
}

/** Zero parameters and a zero minibatch for `sizes`: enough to build the net and read its shapes. */
export function zeroEx1Inputs(sizes: Ex1Sizes): { params: Ex1Params; Xb: Tensor; Yb: Tensor } {
  const shapes = ex1ParamShapes(sizes);
  const params = {} as Ex1Params;
  for (const name of EX1_PARAMS) params[name] = Tensor.zeros(shapes[name], "float64");
  return {
    params,
    Xb: Tensor.zeros([sizes.batch, sizes.blockSize], "int32"),
    Yb: Tensor.zeros([sizes.batch], "int32"),
  };
}
