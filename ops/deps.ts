/**
 * The op layer's npm dependency, by its full `npm:` specifier (see graph/deps.ts for why):
 * cli-progress, for `fit`'s progress bar. The package ships no types; progress.ts types the part
 * it calls.
 */
export { default as cliProgress } from "npm:cli-progress@3.12.0";
