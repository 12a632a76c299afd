// The console page: noVNC for the screen, xterm.js for the serial line, both over Hangar's same-origin WebSocket
// bridge. The page (rendered by the app) holds the toolbar and an empty screen; this script asks for a single-use
// ticket, connects, and reconnects when the VM comes back (after a reboot or a start). A share page does the same
// with the secret after `#` in its address instead of a session.
import RFB from "/vendor/novnc/core/rfb.js";
import { Terminal } from "/vendor/xterm/xterm.mjs";
import { FitAddon } from "/vendor/xterm/addon-fit.mjs";
import { error_text_json } from "/pkg/hangar.js";

const csrf = () => {
  const m = document.cookie.match(/(?:^|; )hangar_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
};
const lang = () => document.documentElement.lang || "en";
const errorText = (json) => {
  try { return error_text_json(lang(), json); } catch (_) { return json; }
};

// X11 keysyms for the toolbar's key combinations.
const XK = {
  Control_L: 0xffe3, Alt_L: 0xffe9, Tab: 0xff09, Print: 0xff61, Return: 0xff0d, BackSpace: 0xff08,
  Escape: 0xff1b, Delete: 0xffff, F1: 0xffbe, Shift_L: 0xffe1,
};
const CODES = {
  [XK.Control_L]: "ControlLeft", [XK.Alt_L]: "AltLeft", [XK.Tab]: "Tab", [XK.Print]: "PrintScreen",
  [XK.Delete]: "Delete", [XK.Return]: "Enter", [XK.Shift_L]: "ShiftLeft",
};

// Typing text as keystrokes: the guest maps key positions through its own layout, so for a guest set to another
// layout the characters that sit elsewhere are sent as the key at their position on a US keyboard.
const LAYOUTS = {
  us: {},
  de: { y: "z", z: "y", Y: "Z", Z: "Y", "-": "/", _: "?", "/": "&", "&": "^", "(": "*", ")": "(", "=": ")",
        "?": "_", ":": ">", ";": "<", "'": "|", "\"": "@", "@": "\\", "<": "`", ">": "~" },
  fr: { a: "q", q: "a", A: "Q", Q: "A", z: "w", w: "z", Z: "W", W: "Z", m: ";", M: ":", ",": "m", ";": ",",
        ":": ".", "!": "/" },
};

function keysymOf(ch) {
  if (ch === "\n") return XK.Return;
  if (ch === "\t") return XK.Tab;
  const c = ch.codePointAt(0);
  if (c >= 0x20 && c <= 0x7e) return c;
  if (c >= 0xa0 && c <= 0xff) return c;
  return 0x01000000 + c; // Unicode keysym
}

function init(root) {
  const labels = JSON.parse(root.dataset.labels || "{}");
  const L = (k) => labels[k] || k;
  const share = root.dataset.share !== undefined;
  const vm = root.dataset.vm || "";
  let kind = root.dataset.kind || "vnc";
  const screen = root.querySelector("[data-screen]");
  const statusEl = root.querySelector("[data-status]");
  let steady = ["", ""];
  const setStatus = (text, cls) => {
    steady = [text, cls];
    statusEl.textContent = text;
    statusEl.className = "console-status " + (cls || "");
    root.dataset.state = cls || "";
  };
  // A passing note ("Copied"): shown for two seconds, then the connection's state again.
  let noteTimer = null;
  const note = (text) => {
    clearTimeout(noteTimer);
    statusEl.textContent = text;
    noteTimer = setTimeout(() => { statusEl.textContent = steady[0]; }, 2000);
  };
  let rfb = null, term = null, ws = null, userClosed = false, viewOnly = false, retry = null;

  const token = () => decodeURIComponent((location.hash || "").slice(1));

  async function ticket() {
    const [url, body, headers] = share
      ? ["/api/v1/console-links/open", { token: token() }, {}]
      : [`/api/v1/vms/${vm}/console`, { kind }, { "X-CSRF-Token": csrf() }];
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) {
      let code = "";
      try { const e = JSON.parse(text); code = e.code; var reason = e.details && e.details.reason; } catch (_) {}
      const err = new Error(errorText(text));
      err.code = code; err.reason = reason; err.status = r.status;
      throw err;
    }
    return JSON.parse(text);
  }

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function teardown() {
    if (rfb) { try { rfb.disconnect(); } catch (_) {} rfb = null; }
    if (ws) { try { ws.close(); } catch (_) {} ws = null; }
    if (term) { term.dispose(); term = null; }
    screen.replaceChildren();
  }

  // After an end that nobody asked for, try again while the VM may come back (a reboot, a start).
  function scheduleRetry(why) {
    clearTimeout(retry);
    if (userClosed) return;
    const final = ["ended_by_admin", "ended_by_user", "signed_out", "link_revoked", "link_expired", "frame_too_large", "bad_input"];
    if (final.includes(why)) return;
    const soon = why === "vm_off" || why === "vm_closed" || why === "paused";
    retry = setTimeout(() => connect(true), soon ? 3000 : 5000);
  }

  function closed(ev) {
    // A socket replaced by a newer one (reconnect, kind switch) says nothing about the current session.
    if (ev.target !== ws) return;
    const why = ev.reason || "";
    setStatus(L("reason-" + why) !== "reason-" + why ? L("reason-" + why) : L("disconnected"), "off");
    scheduleRetry(why || "vm_closed");
  }

  async function connect(quiet) {
    clearTimeout(retry);
    teardown();
    userClosed = false;
    // While waiting for the VM to come back, the reason stays on screen instead of flickering.
    if (quiet !== true) setStatus(L("connecting"), "connecting");
    let t;
    try {
      t = await ticket();
    } catch (e) {
      // An off or paused VM: say that we wait for it, and wait. Anything else (a refusal) stays on screen.
      if (e.code === "console_unavailable" && (e.reason === "vm_off" || e.reason === "paused")) {
        setStatus(L("reason-" + e.reason), "off");
        scheduleRetry(e.reason);
      } else if (share && (e.status === 404 || e.status === 400)) {
        setStatus(L("link-invalid"), "error");
        root.classList.add("dead");
      } else if (share && e.status === 410) {
        setStatus(e.message, "error");
        root.classList.add("dead");
      } else {
        setStatus(e.message, "error");
      }
      return;
    }
    kind = t.kind;
    root.dataset.kind = kind;
    viewOnly = t.view_only;
    root.classList.toggle("view-only", viewOnly);
    const name = root.querySelector("[data-vm-name]");
    if (name) name.textContent = t.vm_name;
    ws = new WebSocket(wsUrl(t.url));
    ws.binaryType = "arraybuffer";
    ws.addEventListener("close", closed);
    if (kind === "vnc") startVnc(); else startSerial();
  }

  function startVnc() {
    rfb = new RFB(screen, ws, { shared: true });
    rfb.viewOnly = viewOnly;
    applyScale();
    rfb.addEventListener("connect", () => setStatus(viewOnly ? L("connected-view-only") : L("connected"), "on"));
    rfb.addEventListener("securityfailure", (e) => setStatus(e.detail.reason || L("disconnected"), "error"));
  }

  function startSerial() {
    term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 14 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(screen);
    fit.fit();
    const enc = new TextEncoder();
    term.onData((d) => { if (!viewOnly && ws && ws.readyState === 1) ws.send(enc.encode(d)); });
    ws.addEventListener("open", () => {
      setStatus(viewOnly ? L("connected-view-only") : L("connected"), "on");
      term.focus();
    });
    ws.addEventListener("message", (ev) => term && term.write(new Uint8Array(ev.data)));
    fitTerm = () => fit.fit();
  }
  // One listener for the page: it fits whichever terminal is open now.
  let fitTerm = null;
  window.addEventListener("resize", () => { if (term && fitTerm) fitTerm(); });

  // Scaling: fit the window, 1:1 (scroll), or ask the guest to take the window's size.
  const scaleSel = root.querySelector("[data-scale]");
  function applyScale() {
    if (!rfb || !scaleSel) return;
    const v = scaleSel.value;
    rfb.scaleViewport = v === "fit";
    rfb.clipViewport = v === "1:1";
    rfb.resizeSession = v === "remote";
  }
  scaleSel && scaleSel.addEventListener("change", applyScale);

  function combo(keys) {
    if (!rfb || viewOnly) return;
    for (const k of keys) rfb.sendKey(k, CODES[k] || null, true);
    for (const k of [...keys].reverse()) rfb.sendKey(k, CODES[k] || null, false);
  }
  const sendKeys = (v) => {
    if (!v) return;
    if (v === "cad") { if (rfb && !viewOnly) rfb.sendCtrlAltDel(); }
    else if (v === "alt-tab") combo([XK.Alt_L, XK.Tab]);
    else if (v === "print") combo([XK.Print]);
    else if (v.startsWith("caf")) combo([XK.Control_L, XK.Alt_L, XK.F1 + Number(v.slice(3)) - 1]);
    rfb && rfb.focus();
  };
  root.querySelectorAll("button[data-keys]").forEach((b) => b.addEventListener("click", () => sendKeys(b.dataset.keys)));
  // The menu only chooses (arrow keys move through it); its button sends.
  const keySel = root.querySelector("select[data-keys-menu]");
  const keySend = root.querySelector("[data-keys-send]");
  keySend && keySend.addEventListener("click", () => sendKeys(keySel && keySel.value));

  // Paste as typed keystrokes (the guest has no clipboard to share): VNC through key events, serial as bytes.
  const pasteBtn = root.querySelector("[data-paste]");
  pasteBtn && pasteBtn.addEventListener("click", async () => {
    const area = root.querySelector("[data-paste-text]");
    const layout = LAYOUTS[(root.querySelector("[data-layout]") || {}).value || "us"] || {};
    const text = area.value;
    if (!text || viewOnly) return;
    if (kind === "serial" && ws && ws.readyState === 1) {
      ws.send(new TextEncoder().encode(text.replace(/\n/g, "\r")));
    } else if (rfb) {
      for (const ch of text) {
        const sym = keysymOf(layout[ch] || ch);
        rfb.sendKey(sym, null, true);
        rfb.sendKey(sym, null, false);
        await new Promise((r) => setTimeout(r, 8));
      }
      rfb.focus();
    }
    note(L("typed").replace("{n}", String([...text].length)));
    if (term) term.focus();
  });

  const copyBtn = root.querySelector("[data-copy]");
  copyBtn && copyBtn.addEventListener("click", async () => {
    if (term && term.hasSelection()) {
      try { await navigator.clipboard.writeText(term.getSelection()); note(L("copied")); }
      catch (_) { note(L("copy-failed")); }
    } else {
      note(L("nothing-selected"));
    }
  });

  const full = root.querySelector("[data-fullscreen]");
  full && full.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen(); else root.requestFullscreen();
  });
  const again = root.querySelector("[data-reconnect]");
  again && again.addEventListener("click", connect);
  root.querySelectorAll("[data-kind-switch]").forEach((b) => b.addEventListener("click", (e) => {
    e.preventDefault();
    kind = b.dataset.kindSwitch;
    const u = new URL(location.href);
    u.searchParams.set("kind", kind);
    history.replaceState(null, "", u);
    root.querySelectorAll("[data-kind-switch]").forEach((x) => x.classList.toggle("active", x === b));
    connect();
  }));
  window.addEventListener("pagehide", () => { userClosed = true; teardown(); });

  connect();
}

const start = () => document.querySelectorAll("[data-console]").forEach((root) => {
  if (!root.dataset.started) { root.dataset.started = "1"; init(root); }
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
// The app may render the page after this script ran (client-side navigation).
new MutationObserver(start).observe(document.documentElement, { childList: true, subtree: true });
