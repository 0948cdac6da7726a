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

/** Estimates a run's memory (see the module comment) for `config` and the data's vocabulary. */
export function runSize(config: TrainConfig, sizes: Ex4Sizes): RunSize {
  const { batch: B } = config, { vocab: V, embd: E, block: K, hidden: H } = sizes;
  const width = config.dtype === "float32" ? 4 : 8;
  const P = countParams(sizes);
  // Measured on this engine: about nine B×H nodes forward (linear, BatchNorm's subgraph, tanh),
  // seven B×V (linear, cross-entropy's subgraph), two B×K·E; as much again for the gradients;
  // the parameters, their gradients and three copies; evaluation's two float64 position tables.
  const floats = 18 * B * H + 14 * B * V + 4 * B * K * E + 5 * P;
  const bytes = width * floats + 8 * 2 * K * V * H + 150 * 2 ** 20;
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
): void {
  const { bytes, largest } = runSize(config, sizes);
  const what = `a run of batch ${config.batch.toLocaleString("en")} and hidden ` +
    `${sizes.hidden.toLocaleString("en")} (${config.dtype}) would need about ${formatBytes(bytes)}`;
  if (largest.bytes > MAX_MATRIX_BYTES) {
    throw new NinjagradError(
      `${what}, and its ${largest.name} matrices of ${formatBytes(largest.bytes)} each put the ` +
        `kernels' offsets past 2 GiB (at most ${formatBytes(MAX_MATRIX_BYTES)} a matrix): ` +
        "use a smaller --batch or --hidden",
    );
  }
  if (memory !== undefined && bytes > 0.9 * memory) {
    throw new NinjagradError(
      `${what} of memory, more than this machine's ${formatBytes(memory)}: ` +
        "use a smaller --batch or --hidden",
    );
  }
}
