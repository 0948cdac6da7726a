/**
 * Live sizes: `idx.size(0)` as PyTorch's `x.size(0)`, but read off the node on every run rather
 * than once while the graph is built. An op given one (expand, reshape, slice) takes the node as
 * an extra input, `like`, that carries no gradient, and its attrs say which axis of `like` each
 * size is: when `like`'s shape changes, the engine works the op's shape out again, as it does for
 * any input whose shape changed, and the charts draw the dependency as an edge.
 */
import { NinjagradError } from "../ops/kernels/errors.ts";
import { formatShape, type Shape } from "../ops/kernels/tensor.ts";
import type { Node } from "./node.ts";

/** `node.size(dim)`: axis `dim` of a node's shape, read on every run of the graph. */
export class Size {
  /** The node whose shape the size is read off. */
  readonly node: Node;
  /** The axis (negative counts from the end, on every run). */
  readonly dim: number;

  /** Made by `node.size(dim)`, which checks the axis. */
  constructor(node: Node, dim: number) {
    this.node = node;
    this.dim = dim;
  }

  /** The size now, as a number (it stays this number if used as one). */
  get value(): number {
    const shape = this.node.shape;
    return shape[this.dim < 0 ? this.dim + shape.length : this.dim];
  }

  /** `idx.size(0)`, for messages. */
  toString(): string {
    return `${this.node.name}.size(${this.dim})`;
  }
}

/** A size in an op's attrs: a number, fixed, or `{ axis }` of the op's `like` input, read per run. */
export type SizeSpec = number | { readonly axis: number };

/** A size given to an op: a number, or a {@link Size}. */
export type SizeLike = number | Size;

/** The size `spec` stands for when the `like` input has `like`'s shape. */
export function sizeFrom(spec: SizeSpec, like: Shape | undefined): number {
  if (typeof spec === "number") return spec;
  const r = like!.length, a = spec.axis < 0 ? spec.axis + r : spec.axis;
  if (!(a >= 0 && a < r)) {
    throw new NinjagradError(
      `a size of axis ${spec.axis} is read off a node of shape ${
        formatShape(like!)
      }, which has no such axis`,
    );
  }
  return like![a];
}

/** The sizes `specs` stand for when the `like` input has `like`'s shape. */
export const sizesFrom = (specs: readonly SizeSpec[], like: Shape | undefined): number[] =>
  specs.map((s) => sizeFrom(s, like));

/**
 * The sizes of one op call as attrs: `like`, the node every {@link Size} among them is read
 * off (undefined when all are numbers), and a spec per size. Sizes of two nodes in one call are
 * refused: the op would need an input per node.
 */
export function liveSizes(
  what: string,
  sizes: readonly (SizeLike | null)[],
): { like: Node | undefined; specs: (SizeSpec | null)[] } {
  let like: Node | undefined;
  const specs = sizes.map((s): SizeSpec | null => {
    if (!(s instanceof Size)) return s;
    if (like !== undefined && like !== s.node) {
      throw new NinjagradError(
        `${what}: sizes are read off ${like.name} and ${s.node.name}, but one call reads its live sizes off one node: take them all from ${like.name}, or give ${s} as a number (${s.node.name}.shape[${s.dim}], fixed)`,
      );
    }
    like = s.node;
    return { axis: s.dim };
  });
  return { like, specs };
}
