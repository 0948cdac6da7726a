/**
 * Sampling names from a trained model, as the lecture does: the context starts as `...`, each
 * next symbol is drawn from softmax(logits) (multinomial), and a name ends at `.`.
 */
import { EvalNet } from "./eval.ts";
import { SeededRandom } from "./random.ts";
import type { TrainedModel } from "./trained.ts";

/** A source of uniforms in [0, 1). */
export interface Uniform {
  uniform(): number;
}

/**
 * The sampling generator for a run's seed. Like the lecture's `manual_seed(2147483647 + 10)`,
 * it is a generator of its own, so sampling never disturbs the training stream.
 */
export function samplingRandom(seed: number): SeededRandom {
  return new SeededRandom(seed + 10);
}

/**
 * `count` names drawn from the model. A name that has not ended after `maxLength` symbols is cut
 * there (an untrained model may wander for a long time before it draws `.`).
 */
export function sampleNames(
  model: TrainedModel,
  count: number,
  random: Uniform,
  maxLength = 64,
): string[] {
  const names: string[] = [];
  for (const name of drawNames(model, random, maxLength)) {
    if (names.length === count) break;
    names.push(name);
  }
  return names;
}

/** Names drawn from the model one at a time, without end: see {@link sampleNames}. */
export function* drawNames(
  model: TrainedModel,
  random: Uniform,
  maxLength = 64,
): Generator<string, never> {
  const { sizes, vocab } = model;
  const net = new EvalNet(model.weights, sizes, model.bn);
  const context = new Int32Array(sizes.block);
  const logits = new Float64Array(sizes.vocab);
  const probs = new Float64Array(sizes.vocab);
  const first = () => 0;
  for (;;) {
    context.fill(0);
    let name = "";
    for (let len = 0; len < maxLength; len++) {
      net.logits(context, first, 0, 1, logits);
      const ix = multinomial(logits, probs, random.uniform());
      if (ix === 0) break;
      name += vocab[ix];
      context.copyWithin(0, 1);
      context[sizes.block - 1] = ix;
    }
    yield name;
  }
}

/** Draws an index from softmax(logits) with one uniform `u` (inverse of the cumulative sum). */
function multinomial(logits: Float64Array, probs: Float64Array, u: number): number {
  let m = -Infinity;
  for (const x of logits) m = Math.max(m, x);
  let z = 0;
  for (let c = 0; c < logits.length; c++) z += probs[c] = Math.exp(logits[c] - m);
  let acc = 0;
  const target = u * z;
  for (let c = 0; c < probs.length; c++) {
    acc += probs[c];
    if (target < acc) return c;
  }
  return probs.length - 1; // u·z rounded up to the total
}
