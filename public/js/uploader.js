// Resumable uploads on the Images page, with tus-js-client (tus 1.0): several files at once, a progress bar with
// speed and time left per file, pause/resume and cancel. tus-js-client remembers each upload's URL by the file's
// fingerprint, so after a reload or a closed tab, picking the same file again resumes where it stopped.
// The page (rendered by the app) holds the form and an empty queue; this script fills the queue.
import { error_text_json } from "/pkg/hangar.js";

const csrf = () => {
  const m = document.cookie.match(/(?:^|; )hangar_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
};

const fmtBytes = (b) => {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return i === 0 ? `${b} B` : `${b.toFixed(1)} ${u[i]}`;
};

const fmtTime = (s) => {
  if (!isFinite(s) || s < 0) return "–";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
};

// The server's error, in the page's language (the app's own translation, from its WASM module).
const errorText = (json) => {
  try { return error_text_json(document.documentElement.lang || "en", json); } catch (_) { return json; }
};

const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};

function init(root) {
  root.dataset.ready = "true";
  // Read at each use: the page rewrites them when the language changes.
  const L = (k) => JSON.parse(root.dataset.labels || "{}")[k] || k;
  const form = root.querySelector("form");
  const input = root.querySelector("input[type=file]");
  const drop = root.querySelector(".dropzone");
  const queue = root.querySelector(".upload-queue");

  const meta = (file) => {
    const f = new FormData(form);
    const m = { filename: file.name, kind: f.get("kind") || "iso", visibility: f.get("visibility") || "private" };
    if (f.get("host")) m.host = String(f.get("host"));
    const sum = String(f.get("sha256") || "").trim();
    if (sum) m.checksum = `sha256 ${sum.toLowerCase()}`;
    for (const k of ["os_family", "os_version", "default_user", "min_disk_gib", "min_memory_mib", "firmware"]) {
      const v = String(f.get(k) || "").trim();
      if (v) m[k] = v;
    }
    if (f.get("cloud_init")) m.cloud_init = "true";
    return m;
  };

  const add = (file) => {
    const bar = el("span", { class: "bar-fill", style: "width: 0%" });
    const status = el("span", { class: "small", "data-testid": "upload-status", text: L("waiting") });
    const pause = el("button", { type: "button", class: "btn small", "data-testid": "upload-pause", text: L("pause") });
    const cancel = el("button", { type: "button", class: "btn small", "data-testid": "upload-cancel", text: L("cancel") });
    const name = el("strong", { text: file.name });
    const row = el("li", { class: "upload-item", "data-testid": "upload-item", "data-name": file.name, "data-state": "waiting" },
      el("div", {}, name, " ", el("span", { class: "muted small", text: fmtBytes(file.size) })),
      el("div", { class: "bar", role: "progressbar" }, bar),
      el("div", { class: "upload-line" }, status, pause, cancel));
    queue.prepend(row);
    const state = (s, text) => { row.dataset.state = s; status.textContent = text; };
    let last = { t: performance.now(), bytes: 0 }, speed = 0, paused = false;

    const upload = new tus.Upload(file, {
      endpoint: "/api/v1/uploads",
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      metadata: meta(file),
      headers: { "X-CSRF-Token": csrf() },
      onProgress(sent, total) {
        const now = performance.now();
        if (now - last.t > 500) {
          const s = ((sent - last.bytes) * 1000) / (now - last.t);
          speed = speed ? speed * 0.7 + s * 0.3 : s;
          last = { t: now, bytes: sent };
        }
        const pct = total ? (sent * 100) / total : 0;
        bar.style.width = `${pct.toFixed(1)}%`;
        row.dataset.offset = String(sent);
        state("uploading", `${pct.toFixed(0)} % · ${fmtBytes(sent)} / ${fmtBytes(total)} · ${fmtBytes(speed)}/s · ${L("left")} ${fmtTime((total - sent) / speed)}`);
      },
      onError(err) {
        const body = err.originalResponse ? err.originalResponse.getBody() : "";
        state("error", body ? errorText(body) : String(err.message || err));
        pause.remove();
      },
      onSuccess() {
        bar.style.width = "100%";
        pause.remove();
        cancel.remove();
        state("importing", L("importing"));
        const id = upload.url.split("/").pop();
        const poll = async () => {
          const r = await fetch(`/api/v1/uploads/${id}`, { credentials: "same-origin" });
          const u = r.ok ? await r.json() : null;
          if (u && u.state === "imported") {
            state("done", L("done"));
            status.append(" ", el("a", { href: `/images/${u.image_id}`, text: L("open") }));
            window.dispatchEvent(new CustomEvent("hangar-image-added", { detail: u.image_id }));
          } else if (u && u.state === "failed") {
            // The task knows why, with the details the message needs.
            const t = u.task_id ? await (await fetch(`/api/v1/tasks/${u.task_id}`, { credentials: "same-origin" })).json() : {};
            const err = { code: t.error_code || u.error_code || "internal", message: t.message || "", details: t.error_details || null };
            state("error", errorText(JSON.stringify(err)));
            window.dispatchEvent(new CustomEvent("hangar-upload-failed", { detail: id }));
          } else {
            setTimeout(poll, 700);
          }
        };
        poll();
      },
    });
    pause.onclick = () => {
      if (paused) { paused = false; pause.textContent = L("pause"); upload.start(); }
      else { paused = true; pause.textContent = L("resume"); upload.abort(); state("paused", L("paused")); }
    };
    cancel.onclick = () => {
      if (!confirm(L("cancel_confirm"))) return;
      upload.abort(true).finally(() => row.remove());
    };
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) { upload.resumeFromPreviousUpload(previous[0]); state("resuming", L("resuming")); }
      upload.start();
    });
  };

  const take = (files) => { for (const f of files) add(f); };
  input.addEventListener("change", () => { take(input.files); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); take(e.dataTransfer.files); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
}

// The app hydrates (and navigates) on its own schedule: set up every uploader once it is live.
const scan = () => {
  if (document.body.dataset.hydrated !== "true") return;
  document.querySelectorAll("[data-uploader]:not([data-ready])").forEach(init);
};
new MutationObserver(scan).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
scan();
