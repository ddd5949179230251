import { test, expect, Browser, Page } from "@playwright/test";
import { ADMIN } from "../playwright.config";
import { ask, hydrated, newThread } from "./helpers";

// These tests start signed out, to sign in themselves.
test.use({ storageState: { cookies: [], origins: [] } });

async function signIn(page: Page, name: string, password: string) {
  await expect(page).toHaveURL(/\/signin/);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** An account made by the admin through the API, and a browser signed in as it. */
async function person(browser: Browser, name: string, role: string): Promise<Page> {
  const admin = await browser.newContext();
  const signedIn = await admin.request.post("/api/session", { data: ADMIN });
  expect(signedIn.ok()).toBeTruthy();
  const password = `${name} password`;
  const created = await admin.request.post("/api/users", { data: { name, password, role } });
  expect([201, 409]).toContain(created.status());
  await admin.close();
  const page = await (await browser.newContext()).newPage();
  await page.goto("/");
  await signIn(page, name, password);
  await hydrated(page);
  return page;
}

test("signed out, a page goes to sign-in and comes back after; sign-out ends it", async ({ page, browser }) => {
  const owner = await person(browser, "e2e-owner", "approver");
  const url = await newThread(owner);
  const path = new URL(url).pathname;

  await page.goto(path);
  await expect(page).toHaveURL(`/signin?next=${encodeURIComponent(path)}`);
  await signIn(page, ADMIN.name, "wrong password");
  await expect(page.getByTestId("form-error")).toHaveText("The name or the password is wrong.");
  await expect(page.getByLabel("Name")).toHaveValue(ADMIN.name);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(path);
  await hydrated(page);
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "connected");
  await expect(page.getByTestId("signed-in-as")).toContainText("admin");

  // The form's redirect, or the page itself when its socket is closed first.
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/signin(\?next=.*)?$/);
  await page.goto("/");
  await expect(page).toHaveURL("/signin");
  await owner.context().close();
});

test("an approver signs in and decides; the outcome names them", async ({ browser }) => {
  const page = await person(browser, "e2e-approver", "approver");
  await expect(page.getByTestId("signed-in-as")).toContainText("e2e-approver");
  await newThread(page);
  await ask(page);
  await page.getByTestId("approval").getByRole("button", { name: "Approve" }).click();
  const outcome = page.locator('[data-outcome="approved"]');
  await expect(outcome).toContainText("Approved create_research_plan · by e2e-approver");
  await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
  // The audit page shows the signed receipt, and that it checks out.
  const thread = new URL(page.url()).pathname;
  await page.goto(`${thread}/audit`);
  await expect(page.getByTestId("receipt-valid")).toBeVisible();
  await expect(page.getByTestId("audit")).toContainText("Decided by e2e-approver");
  await page.context().close();
});

test("a requester sees the request but waits for an approver", async ({ browser }) => {
  const page = await person(browser, "e2e-requester", "requester");
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await expect(approval.getByRole("heading", { name: "Anthropic" })).toBeVisible();
  await expect(page.getByTestId("approver-needed")).toBeVisible();
  await expect(approval.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await page.context().close();
});
