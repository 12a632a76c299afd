// Browser tests: Debian's Chromium against a real hangar (debug build) on a fresh data directory.
import { defineConfig } from '@playwright/test';
import { execSync } from 'node:child_process';

// A free port, chosen once: workers load this file again and inherit the variable, so all agree on it, and two
// runs on one machine never collide.
if (!process.env.E2E_PORT) {
  process.env.E2E_PORT = execSync(
    `node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"`,
  ).toString().trim();
}
const port = Number(process.env.E2E_PORT);
const dataDir = `../target/e2e-data-${port}`;
export const ADMIN_PASSWORD = 'e2e-admin-password';

export default defineConfig({
  testDir: './tests',
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: {
    command: `rm -rf ${dataDir} && exec ../target/debug/hangar serve`,
    env: {
      HANGAR_LISTEN: `127.0.0.1:${port}`,
      HANGAR_DATA_DIR: dataDir,
      HANGAR_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HANGAR_LOG: 'warn',
      HANGAR_BOOTSTRAP_HOST: 'qemu:///system',
      // Charts and alert rules move within a test's patience.
      HANGAR_MONITORING_INTERVAL_SECONDS: '2',
    },
    url: `http://127.0.0.1:${port}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
