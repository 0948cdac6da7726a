/** Reshape (view) and transpose: they move elements, so their backward moves `g` back. */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";

/** The same elements in another shape (`-1` infers one axis), as `emb.view(32, 30)`. */
export const reshape = atomic<"x", { shape: readonly number[] }>({
  name: "view",
  inputs: ["x"],
  shape: ({ x }, { shape }) => t.resolveShape(x, shape),
  forward: ({ x }, out) => void out.data.set(x.data),
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
