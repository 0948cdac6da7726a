/**
 * Sizes a machine cannot train, refused before anything is built: a run whose matrices would
 * put the kernels' byte offsets past 2 GiB (the WebAssembly kernels address their operands with
 * 32-bit offsets; float32 tensors live in a fixed 256 MiB memory and larger ones fall back to
 * plain arrays, but a kernel still lays its operands out one after another), or whose buffers
 * would not fit in the machine's memory. The estimate counts what a training step holds (every
 * node's value and gradient, the parameters and their copies) and what evaluation tabulates.
 */
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { countParams, type Ex4Sizes } from "../model/ex4.ts";
import type { TrainConfig } from "./config.ts";

/**
 * The largest matrix a run may have, in bytes: a kernel lays out up to about seven such operands
 * (BatchNorm's input and five of its results) behind one another, all below 2 GiB.
 */
export const MAX_MATRIX_BYTES = 2 ** 28;

/** What a run of these sizes would take. */
export interface RunSize {
  /** Bytes of memory, roughly (within about 30% of what a run measures). */
  bytes: number;
  /** The largest matrix of the step, by name, and its bytes. */
  largest: { name: string; values: number; bytes: number };
}

/**
 * Estimates a run's memory (see the module comment) for `config`, the data's vocabulary and its
 * `examples` (every split's: each holds an int32 context of `block` symbols and a target).
 */
export function runSize(config: TrainConfig, sizes: Ex4Sizes, examples = 0): RunSize {
  const { batch: B } = config, { vocab: V, embd: E, block: K, hidden: H } = sizes;
  const width = config.dtype === "float32" ? 4 : 8;
  const P = countParams(sizes);
  // Measured on this engine: about nine B×H nodes forward (linear, BatchNorm's subgraph, tanh),
  // seven B×V (linear, cross-entropy's subgraph), two B×K·E; as much again for the gradients;
  // the parameters, their gradients and three copies; evaluation's two float64 position tables.
  const floats = 18 * B * H + 14 * B * V + 4 * B * K * E + 5 * P;
  // The examples' tables (X and Y, int32) and evaluation's grouping of them (at most about 48
  // bytes an example: its group, its place in the order, and the groups' targets and counts).
  const tables = 4 * examples * (K + 1) + 48 * examples;
  const bytes = width * floats + 8 * 2 * K * V * H + tables + 150 * 2 ** 20;
  const matrices: [string, number][] = [
    [`batch × hidden (${B.toLocaleString("en")} × ${H.toLocaleString("en")})`, B * H],
    [`batch × vocabulary (${B.toLocaleString("en")} × ${V})`, B * V],
    [`W1 (${(K * E).toLocaleString("en")} × ${H.toLocaleString("en")})`, K * E * H],
    [`W2 (${H.toLocaleString("en")} × ${V})`, H * V],
    [`batch × block·embd (${B.toLocaleString("en")} × ${(K * E).toLocaleString("en")})`, B * K * E],
  ];
  const [name, values] = matrices.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { bytes, largest: { name, values, bytes: values * width } };
}

/** The machine's memory in bytes, or undefined when it cannot be asked (no --allow-sys). */
export function machineMemory(): number | undefined {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return undefined;
  }
}

/** `1.5 GiB`, `300 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MiB`;
  return `${Math.ceil(bytes / 2 ** 10)} KiB`;
}

/**
 * Throws a one-line error, before anything is built, for sizes the kernels cannot address or
 * the machine cannot hold; `memory` is the machine's (default: asked of the system).
 */
export function checkRunSize(
  config: TrainConfig,
  sizes: Ex4Sizes,
  memory: number | undefined = machineMemory(),
  examples = 0,
): void {
  const { bytes, largest } = runSize(config, sizes, examples);
  const block = sizes.block === 3 ? "" : `, block ${sizes.block.toLocaleString("en")}`;
  const what = `a run of batch ${config.batch.toLocaleString("en")} and hidden ` +
    `${sizes.hidden.toLocaleString("en")}${block} (${config.dtype}) would need about ` +
    formatBytes(bytes);
  const fix = block === ""
    ? "use a smaller --batch or --hidden"
    : "use a smaller --block, --batch or --hidden";
  if (largest.bytes > MAX_MATRIX_BYTES) {
    throw new NinjagradError(
      `${what}, and its ${largest.name} matrices of ${formatBytes(largest.bytes)} each put the ` +
        `kernels' offsets past 2 GiB (at most ${formatBytes(MAX_MATRIX_BYTES)} a matrix): ${fix}`,
    );
  }
  // The examples' contexts are one int32 table (examples × block), indexed with whole numbers.
  if (examples * sizes.block > 2 ** 31 - 1) {
    throw new NinjagradError(
      `${what}, and its ${examples.toLocaleString("en")} examples × block ` +
        `${sizes.block.toLocaleString("en")} contexts (${
          formatBytes(4 * examples * sizes.block)
        }) ` +
        `are more than one table holds (2^31 − 1 values): ${fix}`,
    );
  }
  if (memory !== undefined && bytes > 0.9 * memory) {
    throw new NinjagradError(
      `${what} of memory, more than this machine's ${formatBytes(memory)}: ${fix}`,
    );
  }
}
