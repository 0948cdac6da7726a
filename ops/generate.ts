/**
 * makemore's `generate`: extends each row of a batch of token indices one token at a time, from
 * the model's logits at the last position, as makemore.py does (temperature, top-k, sampling
 * or the most likely token). The model runs with no gradient tracked, every parameter read afresh
 * each step, in one graph kept for the next calls whose shapes follow the input's (the
 * Transformer, BoW, MLP and Bigram), or a graph per input shape for a model whose graph keeps
 * one (the RNN's loop over T).
 */
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, type Shape, Tensor } from "./kernels/tensor.ts";
import { multinomial, type Random, seededRandom } from "./kernels/random.ts";
import { Graph } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";
import type { FloatDType } from "./kernels/tensor.ts";
import type { Module } from "./module.ts";
import { noGrad } from "./build.ts";

/** Options of {@link generate}, as makemore's. */
export interface GenerateOptions {
  /** Divides the logits (default 1): below 1 sharper, above 1 flatter. */
  temperature?: number;
  /** Keep only the k most likely tokens (default: all). */
  topK?: number;
  /** Sample (default true) or take the most likely token. */
  doSample?: boolean;
  /**
   * The longest context the model takes (default: the model's `getBlockSize()` or `blockSize`,
   * as makemore's models have, else unbounded).
   */
  blockSize?: number;
  /** Seeds the draws (default 0), unless `generator` is given. */
  seed?: number;
  /** The generator the draws come from. */
  generator?: Random;
  /** The graphs' dtype (default float32). */
  dtype?: FloatDType;
}

/** A model's graph: the input leaf, the logits and the parameters. */
interface Built {
  graph: Graph;
  input: Node;
  logits: Node;
  params: Node[];
}

/**
 * A model's graphs of one dtype: the first one built, which takes every input shape while its
 * logits follow (their batch and time axes those of the input), and a graph per shape for a
 * model whose graph cannot take a shape (an RNN's loop unrolls the T it was built with).
 */
interface Graphs {
  first: Built;
  /** Whether `first` took every new shape so far. */
  follows: boolean;
  /** Graphs by input shape, `first` under the shape it was built for. */
  byShape: Map<string, Built>;
}

const built = new WeakMap<Module, Map<FloatDType, Graphs>>();

/** The model's graph for inputs of `idx`'s shape. */
function build(model: Module, idx: Tensor, dtype: FloatDType): Built {
  const graph = new Graph({ dtype });
  const input = graph.input("idx", idx);
  const out = noGrad(() => model.forward(input));
  const logits = Array.isArray(out) ? out[0] : out;
  if (!(logits instanceof Node)) {
    throw new NinjagradError(
      "generate: the model's forward must return the logits node (or [logits, loss])",
    );
  }
  return { graph, input, logits, params: model.parameters(graph) };
}

/** Gives b's graph `idx` and the parameters' values now. */
function feed(b: Built, idx: Tensor): void {
  const { graph, input, params } = b;
  graph.batch(() => {
    graph.set(input, idx);
    for (const p of params) graph.changed(p);
  });
}

/** Whether logits of this shape are the ones for (rows, len) inputs: (rows, len, C) each. */
const fits = (logits: Shape, rows: number, len: number) =>
  logits.length === 3 && logits[0] === rows && logits[1] === len;

/**
 * The model's logits node for inputs of `idx`'s shape: the first graph built, given the new
 * shape, while its logits follow the input's batch and time; else (a shape error, which leaves
 * the graph as it was, or logits that kept their T) a graph for this shape, kept for next time.
 */
function logitsFor(model: Module, idx: Tensor, dtype: FloatDType): Built {
  let byDtype = built.get(model);
  if (byDtype === undefined) built.set(model, byDtype = new Map());
  const key = idx.shape.join(",");
  const graphs = byDtype.get(dtype);
  if (graphs === undefined) {
    const first = build(model, idx, dtype);
    byDtype.set(dtype, { first, follows: true, byShape: new Map([[key, first]]) });
    return first;
  }
  const own = graphs.byShape.get(key);
  if (own !== undefined) return feed(own, idx), own;
  if (graphs.follows) {
    try {
      feed(graphs.first, idx);
      if (fits(graphs.first.logits.shape, idx.shape[0], idx.shape[1])) return graphs.first;
    } catch (e) {
      if (!(e instanceof NinjagradError)) throw e;
    }
    graphs.follows = false;
  }
  const b = build(model, idx, dtype);
  graphs.byShape.set(key, b);
  return b;
}

/** @internal How many graphs `generate` holds for a model (all dtypes): what the tests count. */
export function graphCount(model: Module): number {
  let n = 0;
  for (const graphs of built.get(model)?.values() ?? []) n += graphs.byShape.size;
  return n;
}

/**
 * makemore's generate(model, idx, max_new_tokens, temperature, do_sample, top_k): `idx` int32
 * (B, T) grows by `maxNewTokens` columns, each from the logits at the last position ((B, T, C),
 * or (B, C) for a model that gives only the last) of the last `blockSize` tokens. Returns the
 * new (B, T + maxNewTokens) tensor.
 */
export function generate(
  model: Module,
  idx: Tensor,
  maxNewTokens: number,
  options: GenerateOptions = {},
): Tensor {
  const { temperature = 1, topK, doSample = true, dtype = "float32" } = options;
  // makemore's models answer get_block_size(); a property will do too.
  const m = model as unknown as { blockSize?: number; getBlockSize?: () => number };
  const blockSize = options.blockSize ?? m.getBlockSize?.() ?? m.blockSize ?? Infinity;
  const random = options.generator ?? seededRandom(options.seed ?? 0);
  if (idx.dtype !== "int32" || idx.shape.length !== 2) {
    throw new NinjagradError(
      `generate takes int32 token indices (batch, time), got ${idx.dtype} ${
        formatShape(idx.shape)
      }`,
    );
  }
  if (!(temperature > 0)) {
    throw new NinjagradError(`generate's temperature is positive, got ${temperature}`);
  }
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) {
    throw new NinjagradError(`generate's maxNewTokens is a whole number, got ${maxNewTokens}`);
  }
  const [rows, start] = idx.shape;
  const out = Tensor.zeros([rows, start + maxNewTokens], "int32");
  for (let r = 0; r < rows; r++) {
    out.data.set(idx.data.subarray(r * start, (r + 1) * start), r * (start + maxNewTokens));
  }
  for (let t = start; t < start + maxNewTokens; t++) {
    const from = Math.max(0, t - blockSize), len = t - from;
    const cond = Tensor.zeros([rows, len], "int32");
    for (let r = 0; r < rows; r++) {
      const at = r * (start + maxNewTokens) + from;
      cond.data.set(out.data.subarray(at, at + len), r * len);
    }
    const { logits } = logitsFor(model, cond, dtype);
    const v = logits.value, c = v.shape[v.shape.length - 1];
    if (
      !(v.shape.length === 3 && v.shape[1] === len || v.shape.length === 2) || v.shape[0] !== rows
    ) {
      throw new NinjagradError(
        `generate: the model gave logits ${formatShape(v.shape)} for ${
          formatShape(cond.shape)
        }; it needs (batch, time, classes) or (batch, classes)`,
      );
    }
    const step = v.shape.length === 3 ? len * c : c,
      last = v.shape.length === 3 ? (len - 1) * c : 0;
    const probs = new Float64Array(c);
    for (let r = 0; r < rows; r++) {
      const row = v.data.subarray(r * step + last, r * step + last + c);
      let cut = -Infinity;
      if (topK !== undefined && topK < c) cut = [...row].sort((a, b) => b - a)[topK - 1];
      let max = -Infinity;
      for (let j = 0; j < c; j++) if (row[j] >= cut && row[j] > max) max = row[j];
      let next = 0;
      for (let j = 0; j < c; j++) {
        probs[j] = row[j] >= cut ? Math.exp((row[j] - max) / temperature) : 0;
        if (probs[j] > probs[next]) next = j;
      }
      if (doSample) {
        const pick = new Int32Array(1);
        multinomial(probs, 1, c, 1, true, random, pick);
        next = pick[0];
      }
      out.data[r * (start + maxNewTokens) + t] = next;
    }
  }
  return out;
}
