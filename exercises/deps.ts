/**
 * The lecture's npm dependency, by its full `npm:` specifier (see graph/deps.ts for why):
 * seedrandom (seeded random numbers). It ships no types; the modules that use it type the part they
 * call. cli-progress, the training progress bar, comes from the op layer's deps (ops/deps.ts), where
 * `fit`'s bar needs it too: each package is imported in one module.
 */
export { default as seedrandom } from "npm:seedrandom@3.0.5";
