import { request } from "@playwright/test";
import fs from "node:fs";
import path from "node:path";
import { ADMIN, PORT, STORAGE_STATE } from "./playwright.config";

// Signs the bootstrap admin in once; every test's browser starts with that
// session (sign-in is on, as it is by default). auth.spec.ts starts from
// no session to test signing in itself.
export default async function globalSetup() {
  const context = await request.newContext({ baseURL: `http://127.0.0.1:${PORT}` });
  const response = await context.post("/api/session", { data: ADMIN });
  if (!response.ok()) {
    throw new Error(`admin sign-in failed: ${response.status()} ${await response.text()}`);
  }
  fs.mkdirSync(path.dirname(STORAGE_STATE), { recursive: true });
  await context.storageState({ path: STORAGE_STATE });
  await context.dispose();
}
