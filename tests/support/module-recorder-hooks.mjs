// The loader hooks of ./module-recorder.mjs (they run in Node's loader thread): each loaded module's URL
// goes to the main thread.
let port;

export function initialize(data) {
  port = data.port;
}

export async function load(url, context, nextLoad) {
  port?.postMessage(url);
  return nextLoad(url, context);
}
