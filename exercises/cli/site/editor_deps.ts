/**
 * CodeMirror 6, the page's editor, by its full `npm:` specifiers (pinned in deno.json too): a
 * module of its own so that the Worker's bundle does not carry it.
 * @module
 */
export { EditorState } from "npm:@codemirror/state@6.7.6";
export {
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  lineNumbers,
} from "npm:@codemirror/view@6.43.15";
export {
  defaultKeymap,
  history,
  historyKeymap,
  indentWithTab,
} from "npm:@codemirror/commands@6.11.1";
export {
  bracketMatching,
  defaultHighlightStyle,
  syntaxHighlighting,
} from "npm:@codemirror/language@6.13.1";
export { javascript } from "npm:@codemirror/lang-javascript@6.2.5";
export {
  type Diagnostic as LintDiagnostic,
  forEachDiagnostic,
  lintGutter,
  setDiagnostics,
} from "npm:@codemirror/lint@6.9.8";
