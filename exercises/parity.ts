/**
 * Lecture parity: what the lecture's seeds produce with the project's torch- and
 * CPython-compatible generators — the shuffle, the split, the parameters, the first minibatch and
 * its loss through the exercise-1 net — as one report with the keys of
 * `golden/parity_lecture.json`. Everything is computed here; nothing is read from the golden.
 * @module
 */
import { NinjagradError } from "../ops/kernels/errors.ts";
import { Tensor } from "../ops/kernels/tensor.ts";
import { buildExamples, buildVocab, type Examples, splitWords } from "./data.ts";
import { buildEx1 } from "./model/ex1.ts";
import {
  LECTURE_SEEDS,
  type LectureParams,
  lectureParams,
  type RngSeeds,
  TorchRecipePlan,
} from "./rng/recipe.ts";

/** What to compute the report for. */
export interface ParityOptions {
  /** The names, in file order (the lecture's `names.txt` for the golden's numbers). */
  words: readonly string[];
  /** Seeds; the lecture's (42, 2147483647, 42) where left out. */
  seeds?: Partial<RngSeeds>;
  /** Hidden units (64, the exercise-1 net). */
  nHidden?: number;
  /** Embedding width (10). */
  nEmbd?: number;
  /** Context length (3). */
  blockSize?: number;
  /** Minibatch size (32). */
  batch?: number;
}

/** The report: the keys of `golden/parity_lecture.json`, computed by the project. */
export interface ParityReport {
  /** Which generators produced it. */
  source: string;
  /** `random.seed(shuffle_seed)` before the shuffle. */
  shuffle_seed: number;
  /** `torch.Generator().manual_seed(torch_seed)`: C, W1, b1, W2, b2, then the minibatch. */
  torch_seed: number;
  /** `torch.manual_seed(default_generator_seed)`: bngain, bnbias. */
  default_generator_seed: number;
  /** Hidden units of the net. */
  n_hidden: number;
  /** Names read. */
  n_words: number;
  /** The first 8 names after the shuffle. */
  first_shuffled: string[];
  /** Example counts of train, val, test. */
  split_sizes: [number, number, number];
  /** `C[0]`. */
  C_first_row: number[];
  /** Sum of W1 after scaling. */
  W1_sum: number;
  /** First 4 of b1 after scaling. */
  b1_first: number[];
  /** Sum of W2 after scaling. */
  W2_sum: number;
  /** First 4 of b2 after scaling. */
  b2_first: number[];
  /** First 4 of bngain (× 0.1 + 1). */
  bngain_first: number[];
  /** First 4 of bnbias (× 0.1). */
  bnbias_first: number[];
  /** `torch.randint(0, ntrain, (batch,), generator=g)` right after b2. */
  batch_ix: number[];
  /** Float32 cross-entropy of that minibatch through the exercise-1 net. */
  initial_loss: number;
  /** Number of parameters. */
  n_params: number;
}

/** Computes the parity report: the lecture's recipe, step by step, on `opts.words`. */
export function computeParity(opts: ParityOptions): ParityReport {
  const seeds: RngSeeds = { ...LECTURE_SEEDS, ...opts.seeds };
  const { nHidden = 64, nEmbd = 10, blockSize = 3, batch = 32 } = opts;
  const plan = new TorchRecipePlan(seeds);

  // random.seed(42); random.shuffle(words); n1 = int(0.8 N), n2 = int(0.9 N)
  let shuffled: string[] = [];
  const split = splitWords(opts.words.slice(), (ws) => {
    plan.shuffle(ws);
    shuffled = ws;
  });
  const vocab = buildVocab(opts.words.slice());
  const [tr, va, te] = [split.train, split.val, split.test].map((ws) =>
    buildExamples(ws, vocab, blockSize)
  );
  if (tr.n === 0) {
    throw new NinjagradError(
      `the training split is empty (${opts.words.length} name${
        opts.words.length === 1 ? "" : "s"
      }): ` +
        "pass a names file with at least 2 names",
    );
  }

  const params = lectureParams(plan, { vocabSize: vocab.itos.length, nEmbd, blockSize, nHidden });
  const ix = plan.batchIndices(batch, tr.n); // the same generator, right after b2
  const nParams = Object.values(params).reduce((n, t) => n + t.size, 0);
  const first = (t: Tensor, k: number) => Array.from(t.data.subarray(0, k));
  const total = (t: Tensor) => {
    let s = 0;
    for (const v of t.data) s += v;
    return s;
  };

  return {
    source: "ninjagrad: TorchGenerator (MT19937, AVX2 Box–Muller), PythonRandom",
    shuffle_seed: seeds.shuffleSeed,
    torch_seed: seeds.seed,
    default_generator_seed: seeds.defaultSeed,
    n_hidden: nHidden,
    n_words: opts.words.length,
    first_shuffled: shuffled.slice(0, 8),
    split_sizes: [tr.n, va.n, te.n],
    C_first_row: first(params.C, nEmbd),
    W1_sum: total(params.W1),
    b1_first: first(params.b1, 4),
    W2_sum: total(params.W2),
    b2_first: first(params.b2, 4),
    bngain_first: first(params.bngain, 4),
    bnbias_first: first(params.bnbias, 4),
    batch_ix: Array.from(ix),
    initial_loss: ex1Loss(params, gatherBatch(tr, ix)),
    n_params: nParams,
  };
}

/** `Xb, Yb = Xtr[ix], Ytr[ix]`. */
function gatherBatch(ex: Examples, ix: Int32Array): { Xb: Tensor; Yb: Tensor } {
  const b = ex.blockSize;
  const Xb = new Int32Array(ix.length * b);
  const Yb = new Int32Array(ix.length);
  ix.forEach((row, i) => {
    Xb.set(ex.X.subarray(row * b, row * b + b), i * b);
    Yb[i] = ex.Y[row];
  });
  return { Xb: new Tensor(Xb, [ix.length, b]), Yb: new Tensor(Yb, [ix.length]) };
}

/** The first minibatch's loss through the exercise-1 net (atomic nodes), in float32. */
function ex1Loss(params: LectureParams, { Xb, Yb }: { Xb: Tensor; Yb: Tensor }): number {
  return buildEx1(params, Xb, Yb, { dtype: "float32" }).loss.value.item();
}
