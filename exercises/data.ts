/**
 * The lecture's dataset: loading names (a file, a URL, or the lecture's names.txt shipped here),
 * the vocabulary, the context/target examples and the 80/10/10 split.
 * @module
 */
export {
  LECTURE_NAMES_SHA256,
  LECTURE_NAMES_SOURCE,
  lectureNames,
  loadNames,
  type LoadNamesOptions,
  redactUrl,
  sha256Hex,
} from "./data/load.ts";
export {
  buildExamples,
  buildVocab,
  type Examples,
  type Split,
  splitWords,
  type Vocab,
} from "./data/examples.ts";
