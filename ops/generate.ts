/**
 * makemore's `generate`: extends each row of a batch of token indices one token at a time, from
 * the model's logits at the last position, as makemore.py does (temperature, top-k, sampling
 * or the most likely token). The model runs with no gradient tracked, in a graph per input
 * shape kept for the next calls, every parameter read afresh each step.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, Tensor } from "./kernels/tensor.ts";
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

/** A model's graph for one input shape: the input leaf, the logits and the parameters. */
interface Built {
  graph: Graph;
  input: Node;
  logits: Node;
  params: Node[];
}

const built = new WeakMap<Module, Map<string, Built>>();

/** The model's logits node for inputs of `idx`'s shape, built once per shape and dtype. */
function logitsFor(model: Module, idx: Tensor, dtype: FloatDType): Built {
  let byShape = built.get(model);
  if (byShape === undefined) built.set(model, byShape = new Map());
  const key = `${dtype} ${idx.shape.join(",")}`;
  let b = byShape.get(key);
  if (b === undefined) {
    const graph = new Graph({ dtype });
    const input = graph.input("idx", idx);
    const out = noGrad(() => model.forward(input));
    const logits = Array.isArray(out) ? out[0] : out;
    if (!(logits instanceof Node)) {
      throw new NinjagradError(
        "generate: the model's forward must return the logits node (or [logits, loss])",
      );
    }
    b = { graph, input, logits, params: model.parameters(graph) };
    byShape.set(key, b);
    return b;
  }
  const { graph, input, params } = b;
  graph.batch(() => {
    graph.set(input, idx);
    for (const p of params) graph.changed(p);
  });
  return b;
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
