/**
 * makemore.py's data: the words, their characters as tokens 1.. (0 is the start and stop token),
 * each word as a row x = [0, w…, 0…] and y = [w…, 0, −1…] of max_word_length + 1 (−1 masks the
 * loss where the word is over), and the split: min(1,000, 10%) test words, the rest for training,
 * after a seeded shuffle (makemore's torch.randperm).
 */
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { Random } from "./config.ts";

/** A split of words, encoded as makemore's CharDataset. */
export class CharDataset {
  readonly stoi: Map<string, number>;
  readonly itos: Map<number, string>;
  private readonly set: Set<string>;

  constructor(
    readonly words: readonly string[],
    readonly chars: readonly string[],
    readonly maxWordLength: number,
  ) {
    this.stoi = new Map(chars.map((c, i) => [c, i + 1]));
    this.itos = new Map(chars.map((c, i) => [i + 1, c]));
    this.set = new Set(words);
  }

  get length(): number {
    return this.words.length;
  }

  contains(word: string): boolean {
    return this.set.has(word);
  }

  /** All the characters and the special 0 token. */
  vocabSize(): number {
    return this.chars.length + 1;
  }

  /** The <START> token followed by the longest word. */
  outputLength(): number {
    return this.maxWordLength + 1;
  }

  decode(ix: readonly number[]): string {
    return ix.map((i) => this.itos.get(i) ?? "").join("");
  }

  /** The rows `indices` as int32 (n, block) inputs X and targets Y. */
  rows(indices: readonly number[]): { X: Tensor; Y: Tensor } {
    const T = this.outputLength(), n = indices.length;
    const X = Tensor.zeros([n, T], "int32"), Y = Tensor.zeros([n, T], "int32");
    for (let r = 0; r < n; r++) {
      const word = this.words[indices[r]], o = r * T;
      for (let j = 0; j < word.length; j++) {
        const ix = this.stoi.get(word[j])!;
        X.data[o + 1 + j] = ix;
        Y.data[o + j] = ix;
      }
      // Y[len] stays 0 (the stop token); past it the loss is masked.
      for (let j = word.length + 1; j < T; j++) Y.data[o + j] = -1;
    }
    return { X, Y };
  }
}

/** The words of a file's text: one a line, trimmed, empty lines dropped. */
export function wordsOf(text: string): string[] {
  return text.split(/\r?\n|\r/).map((w) => w.trim()).filter((w) => w !== "");
}

/** The number of test words makemore sets aside: 10% of the words, at most 1,000. */
export function testSetSize(words: number): number {
  return Math.min(1000, Math.floor(words * 0.1));
}

/** A random permutation of 0..n−1 (Fisher–Yates), as torch.randperm. */
export function randperm(n: number, random: Random): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** makemore's create_datasets: the vocabulary, and the train and test splits. */
export function createDatasets(
  words: readonly string[],
  random: Random,
): { train: CharDataset; test: CharDataset } {
  const chars = [...new Set(words.join(""))].sort();
  const maxWordLength = Math.max(...words.map((w) => w.length));
  const testSize = testSetSize(words.length);
  const rp = randperm(words.length, random);
  const trainWords = rp.slice(0, rp.length - testSize).map((i) => words[i]);
  const testWords = rp.slice(rp.length - testSize).map((i) => words[i]);
  return {
    train: new CharDataset(trainWords, chars, maxWordLength),
    test: new CharDataset(testWords, chars, maxWordLength),
  };
}
