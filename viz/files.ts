/**
 * Chart files written safely: never through a symbolic link, a FIFO or a device that is already
 * at the path, and atomically (a temp file beside it, renamed over it).
 */
import { basename, dirname, join } from "node:path";
import { NinjagradError } from "../ops/kernels/errors.ts";

/**
 * Writes a chart's file without ever writing through what is already at `path`: a symbolic link
 * (its target is someone's file), a FIFO or a device there is refused, and the bytes go to a new
 * temp file beside it that is renamed over `path`, so a link put there meanwhile is replaced,
 * never followed.
 */
export async function writeChartFile(path: string, data: string | Uint8Array): Promise<void> {
  refuseNonFile(path);
  const dir = dirname(path);
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(8)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const tmp = join(dir, `.${basename(path)}.${hex}.tmp`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    await Deno.writeFile(tmp, bytes, { createNew: true, mode: 0o644 });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new NinjagradError(
      `cannot write chart file ${path}: ${e instanceof Error ? e.message.split("\n")[0] : e}`,
    );
  }
}

/** Refuses a chart path that holds a symbolic link, a FIFO, a device or a folder. */
export function refuseNonFile(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return; // absent (or unreadable: the write says why)
  }
  if (info.isFile) return;
  let what = info.isDirectory ? "a folder" : info.isFifo ? "a FIFO" : "not a regular file";
  if (info.isSymlink) {
    let to = "a missing file";
    try {
      to = Deno.realPathSync(path);
    } catch { /* dangling */ }
    what = `a symbolic link (to ${to})`;
  }
  throw new NinjagradError(
    `cannot write chart file ${path}: it is ${what}, which charts never write through or ` +
      "replace; remove it, or write the charts to another folder",
  );
}
