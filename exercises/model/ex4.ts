/**
 * The exercise-4 model: the lecture's MLP with n_hidden 200, built from the composite ops
 * (embedding → view → linear → batchnorm → tanh → linear → cross-entropy), each node labelled
 * with the lecture's variable name.
 */
import type { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import { type FloatDType, type Shape, sizeOf, Tensor } from "../../ops/kernels/tensor.ts";
import { batchNorm, crossEntropy, embedding, linear, reshape, tanh } from "../../ops/build.ts";
import { initEx1Params, type NormalSource } from "../params.ts";
import { EX1_PARAMS, ex1ParamShapes, type Ex1Sizes } from "./ex1.ts";

/** The sizes of the net. */
export interface Ex4Sizes {
  /** Symbols in the vocabulary (27 for the lecture). */
  vocab: number;
  /** Embedding width (n_embd, 10). */
  embd: number;
  /** Context length (block_size, 3). */
  block: number;
  /** Hidden units (n_hidden, 200 in exercise 4). */
  hidden: number;
}

/** The lecture's exercise-4 sizes. */
export const EX4_SIZES: Ex4Sizes = { vocab: 27, embd: 10, block: 3, hidden: 200 };

/** The parameters, in the order the lecture creates (and draws) them: exercise 1's. */
export const PARAM_NAMES = EX1_PARAMS;
/** One parameter's name. */
export type ParamName = typeof PARAM_NAMES[number];

/** A float buffer of the model's dtype. */
export type FloatArray = Float32Array | Float64Array;

/** The parameter values by name, row-major (shapes from `paramShapes`). */
export type Ex4Weights = Record<ParamName, FloatArray>;

/** The same sizes in exercise 1's names: the two nets declare their parameters alike. */
function asEx1Sizes(s: Ex4Sizes): Omit<Ex1Sizes, "batch"> {
  return { vocab: s.vocab, nEmbd: s.embd, nHidden: s.hidden, blockSize: s.block };
}

/** The shape of every parameter for these sizes (exercise 1's, with n_hidden 200). */
export function paramShapes(s: Ex4Sizes): Record<ParamName, Shape> {
  return ex1ParamShapes(asEx1Sizes(s));
}

/** Total number of parameters (12,297 for the lecture's exercise-4 sizes). */
export function countParams(s: Ex4Sizes): number {
  const shapes = paramShapes(s);
  return PARAM_NAMES.reduce((n, name) => n + sizeOf(shapes[name]), 0);
}

/**
 * The lecture's init (exercises/params.ts: C randn; W1 randn·(5/3)/√fan_in; b1, W2, b2
 * randn·0.1; bngain randn·0.1 + 1; bnbias randn·0.1), drawn from `normal` in `PARAM_NAMES`
 * order, as plain buffers of `dtype`.
 */
export function initEx4Weights(s: Ex4Sizes, normal: NormalSource, dtype: FloatDType): Ex4Weights {
  const params = initEx1Params(asEx1Sizes(s), normal, dtype);
  const weights = {} as Ex4Weights;
  for (const name of PARAM_NAMES) weights[name] = params[name].data as FloatArray;
  return weights;
}

/** A copy of every parameter buffer. */
export function cloneWeights(w: Ex4Weights): Ex4Weights {
  const out = {} as Ex4Weights;
  for (const name of PARAM_NAMES) out[name] = w[name].slice();
  return out;
}

/** The built training graph: its leaves, its loss, and the activations worth watching. */
export interface Ex4Graph {
  graph: Graph;
  params: Record<ParamName, Node>;
  /** The minibatch contexts (batch, block), int32: refill `Xb.value.data` and call `graph.run`. */
  Xb: Node;
  /** The minibatch targets (batch,), int32. */
  Yb: Node;
  loss: Node;
  /** emb, embcat, hprebn, hpreact, h, logits. */
  activations: Record<"emb" | "embcat" | "hprebn" | "hpreact" | "h" | "logits", Node>;
}

/** The labels of the exercise-4 graph's op nodes, in forward order. */
export const EX4_NODES = ["emb", "embcat", "hprebn", "hpreact", "h", "logits", "loss"] as const;

/**
 * Builds the exercise-4 forward pass once in `graph` for minibatches of `batch` examples; the
 * parameters start as copies of `weights`. Training re-runs it with new `Xb`/`Yb` values.
 */
export function buildEx4(graph: Graph, weights: Ex4Weights, s: Ex4Sizes, batch: number): Ex4Graph {
  const shapes = paramShapes(s);
  const params = {} as Record<ParamName, Node>;
  for (const name of PARAM_NAMES) {
    params[name] = graph.param(name, new Tensor(weights[name].slice(), shapes[name]));
  }
  const { C, W1, b1, W2, b2, bngain, bnbias } = params;
  const Xb = graph.input("Xb", Tensor.zeros([batch, s.block], "int32"));
  const Yb = graph.input("Yb", Tensor.zeros([batch], "int32"));
  const emb = embedding(C, Xb).named("emb");
  const embcat = reshape(emb, [batch, s.block * s.embd]).named("embcat");
  const hprebn = linear(embcat, W1, b1).named("hprebn");
  const hpreact = batchNorm(hprebn, bngain, bnbias).named("hpreact");
  const h = tanh(hpreact).named("h");
  const logits = linear(h, W2, b2).named("logits");
  const loss = crossEntropy(logits, Yb).named("loss");
  return {
    graph,
    params,
    Xb,
    Yb,
    loss,
    activations: { emb, embcat, hprebn, hpreact, h, logits },
  };
}
