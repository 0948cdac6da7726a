/**
 * The lecture's npm dependencies, by their full `npm:` specifiers (see graph/deps.ts for why):
 * seedrandom (seeded random numbers) and cli-progress (the training progress bar). Neither
 * package ships types; the modules that use them type the part they call.
 */
export { default as seedrandom } from "npm:seedrandom@3.0.5";
export { default as cliProgress } from "npm:cli-progress@3.12.0";
