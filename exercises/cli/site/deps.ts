/**
 * The page's npm packages, by their full `npm:` specifiers (pinned in deno.json too): sucrase,
 * which makes the learner's TypeScript JavaScript in the browser (types stripped, lines kept),
 * and CodeMirror 6, the editor.
 * @module
 */
export { transform } from "npm:sucrase@3.35.1";
