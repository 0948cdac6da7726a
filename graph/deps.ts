/**
 * The engine's npm dependency, by its full `npm:` specifier, so that the engine can be imported by
 * path or URL from a script in any folder (with no deno.json beside it). deno.json's `imports`
 * lists the same specifier for the tests; tests/deps_test.ts keeps the two equal.
 */
export * from "npm:rxjs@7.8.2";
