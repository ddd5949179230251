import { defineConfig } from "@playwright/test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// The system Chromium (browsers cannot be downloaded here), against the
// release build of the real server. `./test.sh` builds it first.
export const PORT = 3400;
/** The main server's bootstrap admin, signed in by global-setup.ts. */
export const ADMIN = { name: "admin", password: "e2e admin password" };
export const STORAGE_STATE = path.join(__dirname, ".auth", "admin.json");

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results",
  globalSetup: "./global-setup.ts",
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    storageState: STORAGE_STATE,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: "target/release/server",
    cwd: "..",
    url: `http://127.0.0.1:${PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      LEPTOS_OUTPUT_NAME: "hitl",
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      HITL_STREAM_DELAY_MS: "5",
      HITL_BOOTSTRAP_ADMIN: `${ADMIN.name}:${ADMIN.password}`,
      // A fresh SQLite database per run.
      HITL_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "hitl-e2e-")),
      RUST_LOG: "warn",
    },
  },
});
