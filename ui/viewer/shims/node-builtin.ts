/**
 * Empty stand-in for the Node built-ins (fs, path, url...) that bundled libraries require on code paths a browser
 * never takes (Emscripten's Node branch in the codecs, xmlbuilder2's URL helpers). Anything reaching for it fails
 * loudly with a TypeError instead of at bundle load.
 */
const unavailable: Record<string, never> = Object.freeze({});
export default unavailable;
