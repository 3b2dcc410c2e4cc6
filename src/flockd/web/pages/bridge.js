// The web-view bridge of Flock's mobile SDKs, as their sources read it
// (docs/mobile-sdks.md, "The bridge", has the source lines):
//
// page -> app: window.ReactNativeWebView.postMessage(a JSON *string*)
//   {"event":"close"}    iOS dismisses the web view, Android finishes its
//                        activity; both call onClose
//   {"event":"success"}  onSuccess (an invitee's code was taken)
//   {"event":"invalid"}  onInvalid (the code was refused)
//   {"event":"shared","data":{"title":...,"text":...}}
//                        Android opens the share sheet with data.title as
//                        the text; iOS ignores it (the page shares itself)
// iOS injects window.ReactNativeWebView at document start, forwarding to
// window.webkit.messageHandlers.FlockWebView; Android adds a Java object
// of that name. Anything else (a browser) has no bridge.
//
// app -> page: today both SDKs load the next placement's URL. Earlier
// versions sent a navigate command, which the page still follows:
//   window.postMessage({"command":"navigate","data":{"pageType":"invitee?state=success"}}, '*')  (Android <= 1.1.1)
//   window.postMessage({"command":"navigate","data":{"placementId":"..."}})                      (iOS, July 2025)
//   window.dispatchEvent(new CustomEvent('flock_client_event', {detail: {"command":"navigate","data":{"placementId":"..."}}}))

export function bridge() {
  const b = window.ReactNativeWebView;
  return b && typeof b.postMessage === 'function' ? b : null;
}

// The iOS SDK's bridge (it handles close, success and invalid only).
export function isIOS() {
  const w = window.webkit;
  return !!(w && w.messageHandlers && w.messageHandlers.FlockWebView);
}

// Send one event; true if a bridge took it.
export function send(event, data) {
  const b = bridge();
  if (!b) return false;
  b.postMessage(JSON.stringify(data === undefined ? { event } : { event, data }));
  return true;
}

// Call go(command) for every navigate command the app sends.
export function onCommand(go) {
  const take = (c) => {
    if (typeof c === 'string') {
      try { c = JSON.parse(c); } catch (e) { return; }
    }
    if (c && c.command === 'navigate' && c.data && typeof c.data === 'object') go(c.data);
  };
  window.addEventListener('message', (ev) => {
    if (ev.source === window || ev.origin === location.origin) take(ev.data);
  });
  window.addEventListener('flock_client_event', (ev) => take(ev.detail));
}
