/** Reshape (view) and transpose: they move elements, so their backward moves `g` back. */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";
import { sameShape, type Shape, type Tensor } from "./kernels/tensor.ts";
import { sizesFrom, type SizeSpec } from "../graph/size.ts";

/** What `reshape` asks for: a shape, and the shape its input had when the node was built. */
export interface ReshapeAttrs {
  /** The shape asked for; `-1` infers one axis. */
  shape: readonly number[];
  /**
   * The input's shape when the node was built. Leading sizes of `shape` equal to the input's
   * then (`-1`s aside) were taken from it, and follow it when it changes: `view(x, [B, -1])`
   * built with B = 32 views a batch of 10 as `[10, -1]`.
   */
  built?: Shape;
}

/**
 * `shape` with the sizes taken from x's leading axes (equal to `built`'s there) replaced by x's
 * sizes now; `shape` itself when x has its build-time shape.
 */
export function following(x: Shape, { shape, built }: ReshapeAttrs): readonly number[] {
  if (built === undefined || x.length !== built.length || sameShape(x, built)) return shape;
  let out: number[] | undefined;
  for (let i = 0; i < shape.length && i < built.length; i++) {
    if (shape[i] === -1) continue;
    if (shape[i] !== built[i]) break;
    if (x[i] !== built[i]) (out ??= [...shape])[i] = x[i];
  }
  return out ?? shape;
}

/**
 * A view's forward: x's elements into `out`, unless the engine gave the node x's own elements
 * (AtomicOp.view), where they already are.
 */
function copyUnlessShared({ x }: { readonly x: Tensor }, out: Tensor): void {
  if (out.raw !== x.raw) out.data.set(x.data);
}

/**
 * The same elements in another shape (`-1` infers one axis), as `emb.view(32, 30)`; leading
 * sizes taken from the input follow it when its shape changes (see `ReshapeAttrs.built`).
 */
export const reshape = atomic<"x", ReshapeAttrs>({
  name: "view",
  inputs: ["x"],
  shape: ({ x }, attrs) => t.resolveShape(x, following(x, attrs)),
  view: true,
  forward: copyUnlessShared,
  vjp: { x: ({ g, inputs: { x } }) => g.reshape(x.shape) },
});

/** How many of `like`'s leading sizes `reshapeLike` takes. */
export interface ReshapeLikeAttrs {
  /** The count of leading axes of `like` that lead the output's shape. */
  lead: number;
}

/**
 * x's elements viewed as (like's first `lead` sizes, −1), as PyTorch's `y.view(*x.shape[:-1], -1)`
 * that puts rows back into sequences: the sizes are read off `like` on every run, so they follow
 * it when its shape changes. `like` gives its shape only, no gradient.
 */
export const reshapeLike = atomic<"x" | "like", ReshapeLikeAttrs>({
  name: "view",
  inputs: ["x", "like"],
  nondiff: ["like"],
  shape: ({ x, like }, { lead }) => t.resolveShape(x, [...like.slice(0, lead), -1]),
  view: true,
  forward: copyUnlessShared,
  vjp: { x: ({ g, inputs: { x } }) => g.reshape(x.shape) },
});

/**
 * The same elements in another shape whose sizes may be live (`reshape(x, [idx.size(0), -1])`):
 * those given as `{ axis }` are read off `like` on every run; numbers stay as written. `like`
 * gives its shape only, no gradient.
 */
export const reshapeSized = atomic<"x" | "like", { shape: readonly SizeSpec[] }>({
  name: "view",
  inputs: ["x", "like"],
  nondiff: ["like"],
  shape: ({ x, like }, { shape }) => t.resolveShape(x, sizesFrom(shape, like)),
  view: true,
  forward: copyUnlessShared,
  vjp: { x: ({ g, inputs: { x } }) => g.reshape(x.shape) },
});

/** The 2-D transpose. */
export const transpose = atomic({
  name: "transpose",
  inputs: ["x"],
  shape: ({ x }) => [x[1], x[0]],
  forward: ({ x }, out) => void t.transpose2d(x, out),
  vjp: { x: ({ g }) => t.transpose2d(g) },
});
