/**
 * The lecture's dataset: loading names (file, URL or the embedded default), the vocabulary, the
 * context/target examples and the 80/10/10 split.
 * @module
 */
export { defaultNames, loadNames, type LoadNamesOptions, sha256Hex } from "./data/load.ts";
export {
  buildExamples,
  buildVocab,
  type Examples,
  type Split,
  splitWords,
  type Vocab,
} from "./data/examples.ts";
