/**
 * A model's tensors in the safetensors format (the Hugging Face format PyTorch users save
 * weights in): 8 bytes, little-endian, the length of a JSON header; the header, mapping each
 * name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets into the data that follows),
 * plus an optional `__metadata__` of strings; then the data, little-endian, row-major. The
 * header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { type DType, formatShape, sizeOf, Tensor } from "./kernels/tensor.ts";
import type { Module, StateDictOptions } from "./module.ts";

const CODES: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32" };
const DTYPES: Record<string, DType> = { F32: "float32", F64: "float64", I32: "int32" };
const WIDTH: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/** Tensors by name, as a model's `stateDict()` gives them, or any map or list of pairs. */
export type NamedTensors = ReadonlyMap<string, Tensor> | Iterable<readonly [string, Tensor]>;

/** The bytes of a safetensors file holding `tensors` (and string `metadata`, if any). */
export function encodeSafetensors(
  tensors: NamedTensors,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const entries = [...tensors];
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === "__metadata__" || name in header) {
      throw new NinjagradError(`safetensors: the name "${name}" is reserved or given twice`);
    }
    const bytes = t.size * WIDTH[t.dtype];
    header[name] = {
      dtype: CODES[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  json += " ".repeat((8 - (raw.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const [, t] of entries) {
    const d = t.data;
    if (t.dtype === "float32") {
      for (let i = 0; i < d.length; i++, at += 4) view.setFloat32(at, d[i], true);
    } else if (t.dtype === "float64") {
      for (let i = 0; i < d.length; i++, at += 8) view.setFloat64(at, d[i], true);
    } else for (let i = 0; i < d.length; i++, at += 4) view.setInt32(at, d[i], true);
  }
  return out;
}

/** The tensors of a safetensors file's bytes, by name, and its metadata; one-line errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  what = "the safetensors data",
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bad = (why: string) =>
    new NinjagradError(`${what} is not a safetensors file we can read: ${why}`);
  if (bytes.length < 8) throw bad(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) {
    throw bad(`its header length ${n} runs past the end (${bytes.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw bad("its header is not JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw bad("its header is not a JSON object");
  }
  const data = bytes.subarray(8 + n), tensors = new Map<string, Tensor>();
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      Object.assign(metadata, entry);
      continue;
    }
    const { dtype: code, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    const dtype = code === "I64" ? "int32" : DTYPES[String(code)];
    if (dtype === undefined) {
      throw bad(`"${name}" has dtype ${String(code)} (F32, F64, I32 and I64 are read)`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`"${name}" has no valid shape`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) throw bad(`"${name}" has no data_offsets`);
    const [begin, end] = offsets as number[];
    const size = sizeOf(shape), width = code === "I64" ? 8 : WIDTH[dtype];
    if (
      !(Number.isInteger(begin) && begin >= 0 && end === begin + size * width && end <= data.length)
    ) {
      throw bad(
        `"${name}" ${formatShape(shape)} ${code} needs ${
          size * width
        } bytes, its offsets are [${begin}, ${end}] of ${data.length}`,
      );
    }
    const t = Tensor.zeros(shape, dtype),
      d = t.data,
      dv = new DataView(data.buffer, data.byteOffset + begin, end - begin);
    if (dtype === "float32") { for (let i = 0; i < size; i++) d[i] = dv.getFloat32(4 * i, true); }
    else if (dtype === "float64") {
      for (let i = 0; i < size; i++) d[i] = dv.getFloat64(8 * i, true);
    } else if (code === "I32") { for (let i = 0; i < size; i++) d[i] = dv.getInt32(4 * i, true); }
    else {
      // PyTorch's int64 (a BatchNorm's num_batches_tracked, token ids): int32 when it fits.
      for (let i = 0; i < size; i++) {
        const v = Number(dv.getBigInt64(8 * i, true));
        if (v !== (v | 0)) throw bad(`"${name}" holds ${v}, beyond int32`);
        d[i] = v;
      }
    }
    tensors.set(name, t);
  }
  return { tensors, metadata };
}

/**
/** Options of {@link saveSafetensors} and {@link loadSafetensors}. */
export interface SafetensorsOptions extends StateDictOptions {
  /** Strings stored in the header's `__metadata__` (saving only). */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Writes a model's `stateDict()` (or any named tensors) to `path` in the safetensors format,
 * through a temporary file renamed into place, so a failed write leaves the old file whole.
 * `{ layout: "torch" }` writes torch.nn's names and layouts (see `stateDict`).
 */
export async function saveSafetensors(
  path: string,
  tensors: Module | NamedTensors,
  options: SafetensorsOptions = {},
): Promise<void> {
  const { metadata, layout } = options;
  const named = "stateDict" in tensors
    ? (tensors as Module).stateDict({ layout })
    : tensors as NamedTensors;
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, encodeSafetensors(named, metadata), { createNew: true });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof NinjagradError) throw e;
    throw new NinjagradError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads the tensors of a safetensors file; with `model`, loads them into it in place
 * (`loadStateDict`: every name must match, with its shape; `{ layout: "torch" }` for a file of
 * torch.nn's names and layouts) and returns them too.
 */
export async function loadSafetensors(
  path: string,
  model?: Module,
  options: StateDictOptions = {},
): Promise<Map<string, Tensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new NinjagradError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const { tensors } = decodeSafetensors(bytes, path);
  model?.loadStateDict(tensors, options);
  return tensors;
}
