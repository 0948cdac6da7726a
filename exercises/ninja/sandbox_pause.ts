/**
 * Where a sandboxed child is stuck: the child runs with V8's inspector on a port of 127.0.0.1
 * (its learner's code may not open sockets), and before the parent kills it for running too long
 * it pauses it there and asks for the stack, so the error names the line of an endless loop at
 * load or in a rule. The stack is read by evaluating `new Error().stack` in the paused frame:
 * Deno maps those positions back to the TypeScript source, as the inspector's own do not.
 * @module
 */
import { errorLocation, type SourceLocation } from "./source.ts";

/** The inspector's address in what the child printed on stderr (`Debugger listening on ws://…`). */
export function inspectorUrl(stderr: string): string | undefined {
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(stderr)?.[1];
}

/** Whether a line of the child's stderr is the inspector's own notice. */
export function isInspectorNotice(line: string): boolean {
  return /^(Debugger listening on ws:|Visit chrome:\/\/inspect)/.test(line.trim());
}

/**
 * Pauses the child whose inspector is at `ws` and returns where in `fileUrl` it was running, or
 * undefined (not in that file, or no answer within `ms`).
 */
export function pausedAt(
  ws: string,
  fileUrl: string,
  ms = 3000,
): Promise<SourceLocation | undefined> {
  return new Promise((resolve) => {
    let socket: WebSocket;
    const done = (at: SourceLocation | undefined) => {
      clearTimeout(timer);
      try {
        socket.close();
      } catch { /* closed */ }
      resolve(at);
    };
    const timer = setTimeout(() => done(undefined), ms);
    try {
      socket = new WebSocket(ws);
    } catch {
      return done(undefined);
    }
    let id = 0;
    const send = (method: string, params: Record<string, unknown> = {}) =>
      socket.send(JSON.stringify({ id: ++id, method, params }));
    socket.onerror = () => done(undefined);
    socket.onopen = () => {
      send("Debugger.enable");
      send("Debugger.pause");
    };
    socket.onmessage = (e) => {
      const m = JSON.parse(String(e.data));
      if (m.method === "Debugger.paused") {
        const frame = m.params?.callFrames?.[0];
        if (!frame) return done(undefined);
        send("Debugger.evaluateOnCallFrame", {
          callFrameId: frame.callFrameId,
          expression: "new Error().stack",
          silent: true,
        });
        return;
      }
      const stack = m.result?.result?.value;
      if (typeof stack === "string") done(errorLocation(stack, fileUrl));
    };
  });
}
