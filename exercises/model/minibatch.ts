/**
 * The setup of exercises 1–3, as the lecture's notebook does it: load the names, shuffle and split
 * them, build the training examples, initialise the parameters, and draw one minibatch.
 * @module
 */
import { Tensor } from "../../ops/kernels/tensor.ts";
import { buildExamples, buildVocab, loadNames, splitWords } from "../data.ts";
import { initEx1Params } from "../params.ts";
import { createRngPlan, lectureParams, orderedNormalSource, type RngKind } from "../rng/recipe.ts";
import { EX1_SIZES, type Ex1Params, type Ex1Sizes } from "./ex1.ts";

/** Options of {@link lectureMinibatch}. */
export interface MinibatchOptions {
  /** Names file or URL; the lecture's names when absent. */
  data?: string;
  /**
   * The names themselves, already read from `data` (a sandboxed check's child, which may read
   * neither the file nor the network, gets them from its parent).
   */
  words?: readonly string[];
  /** Seeds the parameters and the minibatch (one stream, in that order). */
  seed?: number;
  /** `seedrandom` (default) or `torch` (the lecture's generators, with the shuffle seed 42). */
  rng?: RngKind;
  /** Sizes other than the vocabulary, which comes from the names (default: the lecture's). */
  sizes?: Partial<Omit<Ex1Sizes, "vocab">>;
}

/** Everything an exercise needs to build its graph. */
export interface LectureMinibatch {
  params: Ex1Params;
  /** Contexts (batch, block_size), int32. */
  Xb: Tensor;
  /** Targets (batch,), int32. */
  Yb: Tensor;
  sizes: Ex1Sizes;
  /** Names read. */
  words: number;
  /** Training examples the minibatch was drawn from. */
  trainExamples: number;
  /** Where the names came from. */
  source: string;
  /** The vocabulary, index to symbol (`.` first). */
  itos: readonly string[];
}

/**
 * Names → shuffle → 80/10/10 split → training examples → parameters → one minibatch. The seeded
 * generator makes the same minibatch every time for the same names and seed.
 */
export async function lectureMinibatch(options: MinibatchOptions = {}): Promise<LectureMinibatch> {
  const words = options.words ? [...options.words] : await loadNames(options.data);
  const vocab = buildVocab(words);
  const sizes: Ex1Sizes = { ...EX1_SIZES, ...options.sizes, vocab: vocab.itos.length };
  const plan = createRngPlan(
    options.rng ?? "seedrandom",
    options.seed === undefined ? {} : { seed: options.seed },
  );
  const split = splitWords(words, (w) => plan.shuffle(w));
  const train = buildExamples(split.train, vocab, sizes.blockSize);
  // The torch plan rounds as PyTorch's float32 `randn(...) * scale` does, so that its numbers are
  // the lecture's; the seedrandom plan scales in double precision.
  const params = plan.kind === "torch"
    ? lectureParams(plan, { vocabSize: sizes.vocab, ...sizes })
    : initEx1Params(sizes, orderedNormalSource(plan));
  const ix = plan.batchIndices(sizes.batch, train.n);
  const Xb = Tensor.zeros([sizes.batch, sizes.blockSize], "int32");
  const Yb = Tensor.zeros([sizes.batch], "int32");
  ix.forEach((row, i) => {
    Xb.data.set(
      train.X.subarray(row * sizes.blockSize, (row + 1) * sizes.blockSize),
      i * sizes.blockSize,
    );
    Yb.data[i] = train.Y[row];
  });
  return {
    params,
    Xb,
    Yb,
    sizes,
    words: words.length,
    trainExamples: train.n,
    source: options.data ?? "the built-in names",
    itos: vocab.itos,
  };
}
