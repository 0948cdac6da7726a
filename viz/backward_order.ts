/**
 * One row order for every chart that lists nodes: the order in which a backward pass completes
 * their gradients, as the lecture writes its backward pass and its cmp lines. Walking the graph
 * back from the loss, a node's gradient is complete once every node that consumes it has sent
 * its share; the nodes completed by one named line (`logits = h @ W2 + b2`, its unnamed
 * sub-expressions included) come in the order they are written in it (dh, dW2, db2). So the
 * order is the same whichever checker made the verdicts, whether a rule is wrong or not, and
 * whatever order that checker lists its rows in.
 */
import type { GraphSnapshot } from "./snapshot.ts";

/** Every node's name, the loss first, in the order backward completes their gradients. */
export function backwardOrder(snap: GraphSnapshot): string[] {
  const n = snap.nodes.length;
  const inputs: number[][] = snap.nodes.map(() => []);
  const pending = new Array<number>(n).fill(0);
  for (const e of snap.edges) {
    inputs[e.to].push(e.from);
    pending[e.from]++;
  }
  // A named node starts a line; an unnamed op is part of the line of the node it feeds.
  const named = (i: number) => !/#\d+$/.test(snap.nodes[i].name);
  const place: number[][] = snap.nodes.map(() => []);
  const out: string[] = [];
  const seen = new Set<number>();
  let line: number[] = [];
  const endLine = () => {
    line.sort((a, b) => compareLists(place[a], place[b]));
    for (const i of line) out.push(snap.nodes[i].name);
    line = [];
  };
  const complete = (i: number) => {
    if (!seen.has(i)) line.push(i), seen.add(i);
  };
  for (let i = n - 1; i >= 0; i--) {
    // Nodes that nothing consumes come where the walk meets them: the loss first.
    if (pending[i] > 0) continue;
    if (named(i)) {
      endLine();
      place[i] = [];
    }
    complete(i);
    inputs[i].forEach((j, k) => {
      if (--pending[j] === 0) {
        place[j] = [...place[i], k];
        complete(j);
      }
    });
  }
  endLine();
  // A node consumed by something the walk never reached (a cycle cannot be; a stray reference
  // can): after the rest, in creation order.
  for (let i = 0; i < n; i++) if (!seen.has(i)) out.push(snap.nodes[i].name);
  return out;
}

function compareLists(a: readonly number[], b: readonly number[]): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return a[k] - b[k];
  return a.length - b.length;
}
