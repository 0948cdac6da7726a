/** The lecture's data for training: names, the 80/10/10 split, vocabulary and examples. */
import {
  buildExamples,
  buildVocab,
  type Examples,
  LECTURE_NAMES_SOURCE,
  loadNames,
  redactUrl,
  sha256Hex,
  splitWords,
} from "../data.ts";
import type { Vocab } from "../data.ts";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { PythonRandom } from "../rng/python_random.ts";

/** The examples of each split and the vocabulary. */
export interface TrainData {
  vocab: Vocab;
  train: Examples;
  val: Examples;
  test: Examples;
  /** Where the names came from (a path, a URL, or the lecture's names.txt). */
  source: string;
  /** Which names exactly (set by `loadTrainData`): a resumed run checks it is the same. */
  fingerprint?: DataFingerprint;
}

/** What identifies a names list, whatever its path: its size and the hash of its names. */
export interface DataFingerprint {
  /** The path or URL given to `--data`; absent for the default, the lecture's names. */
  path?: string;
  /** How many names. */
  names: number;
  /** Hex SHA-256 of the names joined by newlines (so CRLF, blank lines and spaces do not count). */
  sha256: string;
}

/** The lecture's shuffle: CPython `random.seed(42); random.shuffle(words)`, bit for bit. */
export const SHUFFLE_SEED = 42;

/**
 * Splits names as the lecture does (shuffle with seed 42, then 80/10/10 by word) and builds the
 * examples of each split for a context of `block` symbols. The vocabulary comes from all names.
 */
export function prepareData(words: string[], block: number, source = "names"): TrainData {
  const vocab = buildVocab(words);
  const split = splitWords(words, (w) => new PythonRandom(SHUFFLE_SEED).shuffle(w));
  const data = {
    vocab,
    train: buildExamples(split.train, vocab, block),
    val: buildExamples(split.val, vocab, block),
    test: buildExamples(split.test, vocab, block),
    source,
  };
  if (data.train.n === 0 || data.val.n === 0) {
    throw new NinjagradError(
      `${source} has ${words.length} names: too few to split 80/10/10 with a non-empty ` +
        "validation set; give at least 10 names",
    );
  }
  return data;
}

/**
 * Loads names from a path or URL (the lecture's names when absent) and prepares them. `check`,
 * if given, is called with the vocabulary's size and the number of examples before their tables
 * are built (they take examples × (block + 1) int32s: a size check there refuses a run whose
 * tables alone would not fit).
 */
export async function loadTrainData(
  source: string | undefined,
  block: number,
  check?: (vocab: number, examples: number) => void,
): Promise<TrainData> {
  const words = await loadNames(source);
  if (check) {
    const chars = new Set<string>();
    let examples = 0;
    for (const w of words) {
      for (const ch of w) chars.add(ch);
      examples += [...w].length + 1;
    }
    check(chars.size + 1, examples);
  }
  // Shown and stored without credentials (a URL's user:pass@ or token): see redactUrl.
  const shown = source === undefined ? undefined : redactUrl(source);
  const data = prepareData(words, block, shown ?? LECTURE_NAMES_SOURCE);
  const sha256 = await sha256Hex(words.join("\n"));
  return {
    ...data,
    fingerprint: { ...(shown ? { path: shown } : {}), names: words.length, sha256 },
  };
}
