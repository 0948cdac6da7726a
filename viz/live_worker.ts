/**
 * The live view's server, in a worker of its own: the training loop keeps the main thread busy
 * and, yielding with setImmediate, lets it poll sockets only every few seconds, so a server there
 * answered a request in about 3 s. Here it answers at once. The main thread (viz/live.ts) posts
 * each flush's messages; this worker streams them to every open page (Server-Sent Events) and
 * keeps a compacted log of them (per chart: its latest spec, the rows inserted since, the latest
 * rows of each replaced dataset) that it replays to a page opened later.
 */
import { browserBuilds, type ReportFact } from "./report.ts";
import type { LiveMessage } from "./live.ts";
import { livePage } from "./live_page.ts";

/** What the main thread posts to the worker. */
export type ToWorker =
  | { type: "open"; port: number; title: string; facts: readonly ReportFact[] }
  | { type: "batch"; messages: LiveMessage[] }
  | { type: "close" };

/** What the worker posts back. */
export type FromWorker =
  | { type: "listening"; port: number }
  | { type: "error"; message: string }
  | { type: "closed" };

const scope = globalThis as unknown as {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

/** The messages so far, compacted; `end` once the run is over. */
class Log {
  private entries: LiveMessage[] = [];
  private status: LiveMessage | undefined;
  end: LiveMessage | undefined;

  add(m: LiveMessage): void {
    if (m.type === "batch") return m.messages.forEach((x) => this.add(x));
    if (m.type === "status") this.status = m;
    else if (m.type === "end") this.end = m;
    else if (m.type === "spec") {
      this.entries = this.entries.filter((e) => !("chart" in e) || e.chart !== m.chart);
      this.entries.push(m);
    } else if (m.type === "caption") {
      this.entries.push(m);
    } else {
      if (m.replace) {
        this.entries = this.entries.filter((e) =>
          e.type !== "data" || e.chart !== m.chart || e.dataset !== m.dataset
        );
      }
      this.entries.push(m);
    }
  }

  replay(): LiveMessage {
    const all = [...(this.status ? [this.status] : []), ...this.entries];
    return { type: "batch", messages: this.end ? [...all, this.end] : all };
  }
}

const log = new Log();
const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
const encoder = new TextEncoder();
const event = (m: LiveMessage) => encoder.encode(`data: ${JSON.stringify(m)}\n\n`);
let server: Deno.HttpServer<Deno.NetAddr> | undefined;
let builds: Promise<string[]> | undefined;

function broadcast(m: LiveMessage): void {
  const bytes = event(m);
  for (const c of clients) {
    try {
      c.enqueue(bytes);
    } catch {
      clients.delete(c); // a page that went away
    }
  }
}

/**
 * The most pages streamed to at once: each gets the whole log first, then every flush, so an
 * unbounded number of them (a script opening thousands) would cost the run gigabytes of traffic.
 */
export const MAX_LIVE_CLIENTS = 32;

/**
 * Whether a request's Host names this server as a browser on this machine does: a page of
 * another site whose name resolves to 127.0.0.1 (DNS rebinding) sends its own name, refused.
 */
export function localHost(host: string | null, port: number): boolean {
  if (host === null) return false;
  const h = host.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}` || h === `[::1]:${port}`;
}

function handler(title: string, facts: readonly ReportFact[]) {
  return async (req: Request): Promise<Response> => {
    if (!localHost(req.headers.get("host"), server!.addr.port)) {
      return new Response("this page is served to 127.0.0.1 and localhost only\n", {
        status: 421,
      });
    }
    const path = new URL(req.url).pathname;
    if (req.method !== "GET") return new Response("GET only", { status: 405 });
    if (path === "/") {
      return new Response(livePage(title, facts), {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    const js = ["/vega.js", "/vega-lite.js", "/vega-embed.js"].indexOf(path);
    if (js >= 0) {
      return new Response((await (builds ??= browserBuilds()))[js], {
        headers: { "content-type": "text/javascript; charset=utf-8" },
      });
    }
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    if (path === "/events") {
      if (clients.size >= MAX_LIVE_CLIENTS) {
        return new Response(`at most ${MAX_LIVE_CLIENTS} pages follow a run at once\n`, {
          status: 503,
          headers: { "retry-after": "5" },
        });
      }
      let me: ReadableStreamDefaultController<Uint8Array> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          me = c;
          c.enqueue(event(log.replay()));
          if (log.end) c.close();
          else clients.add(c);
        },
        cancel() {
          if (me) clients.delete(me);
        },
      });
      return new Response(body, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    return new Response("not found", { status: 404 });
  };
}

scope.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "open") {
    try {
      server = Deno.serve(
        { hostname: "127.0.0.1", port: m.port, onListen: () => {} },
        handler(m.title, m.facts),
      );
      scope.postMessage({ type: "listening", port: server.addr.port });
    } catch (err) {
      scope.postMessage({
        type: "error",
        message: err instanceof Error ? err.message.split("\n")[0] : String(err),
      });
    }
  } else if (m.type === "batch") {
    const batch: LiveMessage = { type: "batch", messages: m.messages };
    log.add(batch);
    broadcast(batch);
    if (log.end) {
      for (const c of clients) c.close();
      clients.clear();
    }
  } else if (m.type === "close") {
    for (const c of clients) c.close();
    clients.clear();
    await server?.shutdown();
    scope.postMessage({ type: "closed" });
  }
};
