// Uploads a file to Hangar with tus-js-client (Node): `node js_client.mjs BASE TOKEN FILE HOST_ID`.
// Prints the upload's URL. Used by server/tests/tus_clients.rs: a real tus client that is not ours.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const tus = require("tus-js-client");

const [base, token, file, host] = process.argv.slice(2);
const data = readFileSync(file);
const upload = new tus.Upload(data, {
  endpoint: `${base}/api/v1/uploads`,
  headers: { Authorization: `Bearer ${token}` },
  chunkSize: 1024 * 1024,
  metadata: { filename: basename(file), kind: "iso", host, visibility: "private" },
  onError(err) { console.error(`upload failed: ${err}`); process.exit(1); },
  onSuccess() { console.log(upload.url); },
});
upload.start();
