import { NinjagradError } from "../../ops/kernels/errors.ts";

/** Symbol table: `itos[i]` is symbol i, `stoi` maps a symbol back to its index. */
export interface Vocab {
  /** Index to symbol; `itos[0]` is `.`, the start/end token. */
  itos: string[];
  /** Symbol to index. */
  stoi: Map<string, number>;
}

/** Context/target pairs: row i of `X` (length `blockSize`) is the context, `Y[i]` the target. */
export interface Examples {
  /** Contexts, row-major (`n` × `blockSize`), as symbol indices. */
  X: Int32Array;
  /** Targets, one symbol index per example. */
  Y: Int32Array;
  /** Number of examples. */
  n: number;
  /** Context length. */
  blockSize: number;
}

/** Train/validation/test words. */
export interface Split {
  /** The first 80% of the shuffled words. */
  train: string[];
  /** The next 10%. */
  val: string[];
  /** The last 10%. */
  test: string[];
}

/** `.` at index 0, then the distinct characters of `words` in sorted order (27 for the lecture). */
export function buildVocab(words: string[]): Vocab {
  const chars = new Set<string>();
  for (const w of words) for (const ch of w) chars.add(ch);
  if (chars.has(".")) {
    throw new NinjagradError(`a name contains ".", the start/end token: remove it from the names`);
  }
  const itos = [".", ...[...chars].sort()];
  return { itos, stoi: new Map(itos.map((s, i) => [s, i])) };
}

/**
 * The lecture's examples: each word gives len(w)+1 of them. The context starts as all `.` (index 0),
 * the targets are the word's characters and then `.`, and after each one the context shifts left
 * by one and takes in the target.
 */
export function buildExamples(words: string[], vocab: Vocab, blockSize: number): Examples {
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new NinjagradError(`blockSize must be a positive integer, got ${blockSize}`);
  }
  // Count first so X and Y are allocated once at their final size.
  let n = 0;
  for (const w of words) n += [...w].length + 1;
  if (n * blockSize > 2 ** 31 - 1) {
    throw new NinjagradError(
      `${n.toLocaleString("en")} examples with a context of ${blockSize.toLocaleString("en")} ` +
        `symbols take ${(n * blockSize).toLocaleString("en")} values, more than one table may ` +
        "hold (2^31 − 1): use a smaller --block",
    );
  }
  const X = new Int32Array(n * blockSize);
  const Y = new Int32Array(n);
  let row = 0;
  for (const w of words) {
    const chars = [...w];
    for (let k = 0; k <= chars.length; k++) {
      const ch = k < chars.length ? chars[k] : ".";
      const ix = vocab.stoi.get(ch);
      if (ix === undefined) {
        throw new NinjagradError(
          `character ${JSON.stringify(ch)} of name ${
            JSON.stringify(w)
          } is not in the vocabulary: ` +
            "build the vocabulary from all the names",
        );
      }
      // The context is the previous row shifted left by one, taking in the previous target
      // (all `.` at a word's start): written value by value, no array per example.
      const at = row * blockSize;
      if (k > 0) {
        for (let j = 0; j < blockSize - 1; j++) X[at + j] = X[at - blockSize + j + 1];
        X[at + blockSize - 1] = Y[row - 1];
      }
      Y[row++] = ix;
    }
  }
  return { X, Y, n, blockSize };
}

/**
 * Shuffle a copy of `words` with `shuffle` (in place on the copy), then split by word 80/10/10 as
 * the lecture does: `n1 = floor(0.8 N)`, `n2 = floor(0.9 N)`. The caller's array is untouched.
 */
export function splitWords(words: string[], shuffle: (arr: string[]) => void): Split {
  const copy = words.slice();
  shuffle(copy);
  const n1 = Math.floor(0.8 * copy.length);
  const n2 = Math.floor(0.9 * copy.length);
  return { train: copy.slice(0, n1), val: copy.slice(n1, n2), test: copy.slice(n2) };
}
