/**
 * detach: the identity with no gradient (torch's x.detach()). The rule table is empty and x is
 * listed as taking none, so nothing downstream of a detached node sends gradient through it.
 */
import { atomic } from "../graph/op.ts";
import * as t from "./kernels/mod.ts";

/** x, cut from the gradient: its output requires none, and x receives none through it. */
export const detach = atomic({
  name: "detach",
  inputs: ["x"],
  nondiff: ["x"],
  shape: ({ x }) => x,
  forward: ({ x }, out) => void t.copy(x, out),
  vjp: {},
});
