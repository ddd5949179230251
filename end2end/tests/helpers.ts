import { expect, Page, WebSocket } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "../..");

/** Opens a new thread from the home page and waits for its socket. */
export async function newThread(page: Page, base = ""): Promise<string> {
  await page.goto(base + "/");
  await hydrated(page);
  await page.getByTestId("new-thread").first().click();
  await page.waitForURL(/\/threads\/[0-9a-f]+$/);
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "connected");
  return page.url();
}

/** Waits until the page is hydrated and every open editor is drawn (the
 * editors' code is a chunk of its own, fetched when one first opens). */
export async function editorsLoaded(page: Page) {
  await hydrated(page);
  await expect(page.getByTestId("editor-loading")).toHaveCount(0);
}

/** Waits until the WebAssembly has hydrated the page. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

export async function ask(page: Page, text = "Create a research plan for Anthropic") {
  const input = page.getByTestId("message-input");
  await input.fill(text);
  await input.press("Enter");
  await expect(page.getByTestId("approval")).toBeVisible();
}

/** Counts the decision frames a page sends. */
export function countDecisions(page: Page): () => number {
  let count = 0;
  page.on("websocket", (ws: WebSocket) => {
    ws.on("framesent", (frame) => {
      const text = typeof frame.payload === "string" ? frame.payload : frame.payload.toString();
      if (JSON.parse(text).type === "decision") count += 1;
    });
  });
  return () => count;
}

/** A server of our own, for settings or restarts the shared one cannot have. */
export class Server {
  private child?: ChildProcess;
  /** Its own SQLite directory, kept across restarts of this server. */
  private readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hitl-e2e-"));
  constructor(readonly port: number, readonly env: Record<string, string> = {}) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    this.child = spawn(path.join(root, "target/release/server"), [], {
      cwd: root,
      stdio: "ignore",
      env: {
        ...process.env,
        LEPTOS_OUTPUT_NAME: "hitl",
        LEPTOS_SITE_ROOT: "target/site",
        LEPTOS_SITE_PKG_DIR: "pkg",
        LEPTOS_SITE_ADDR: `127.0.0.1:${this.port}`,
        HITL_STREAM_DELAY_MS: "5",
        HITL_DATA_DIR: this.dataDir,
        RUST_LOG: "warn",
        // Restarts and timeouts, not sign-in, are what these servers test.
        HITL_AUTH: "off",
        ...this.env,
      },
    });
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server on ${this.port} did not start`);
  }

  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
}
