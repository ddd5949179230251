import { test, expect } from "@playwright/test";
import { ask, hydrated, newThread, Server } from "./helpers";

test("refresh while an approval is pending brings it back, and approving works", async ({ page }) => {
  const url = await newThread(page);
  await ask(page);
  await page.reload();
  await expect(page).toHaveURL(url);
  await hydrated(page);
  const approval = page.getByTestId("approval");
  await expect(approval.getByRole("heading", { name: "Anthropic" })).toBeVisible();
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator('[data-outcome="approved"]')).toBeVisible();
  await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
  // The history survives another refresh.
  await page.reload();
  await expect(page.locator('[data-outcome="approved"]')).toBeVisible();
});

test("two tabs: a decision in one updates the other", async ({ page, context }) => {
  const url = await newThread(page);
  await ask(page);
  const other = await context.newPage();
  await other.goto(url);
  await hydrated(other);
  await expect(other.getByTestId("approval")).toBeVisible();
  // This tab was half-way through an edit: it is told what happened to it.
  await page.getByTestId("approval").getByRole("button", { name: "Edit" }).click();
  await page.getByTestId("topic-input").fill("Half-finished");
  await other.getByTestId("approval").getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("approval")).toBeHidden();
  await expect(page.getByTestId("decided-elsewhere")).toHaveText(
    "Approved elsewhere by admin (another tab or person).",
  );
  await expect(other.getByTestId("decided-elsewhere")).toHaveCount(0);
  await expect(page.locator('[data-outcome="approved"]')).toBeVisible();
  await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
  await expect(page.getByTestId("messages")).toContainText("Create a research plan for Anthropic");
});

test("the server killed and restarted: the page reconnects and the pending approval still works", async ({ page }) => {
  const server = new Server(3401);
  await server.start();
  try {
    const url = await newThread(page, server.url);
    await ask(page);
    const badge = page.getByTestId("connection");
    await server.kill();
    await expect(badge).toHaveAttribute("data-state", "reconnecting");
    await expect(page.getByTestId("message-input")).toHaveAttribute("readonly", "");
    await server.start();
    await expect(badge).toHaveAttribute("data-state", "connected", { timeout: 20_000 });
    await expect(page).toHaveURL(url);
    const approval = page.getByTestId("approval");
    await expect(approval.getByRole("heading", { name: "Anthropic" })).toBeVisible();
    await approval.getByRole("button", { name: "Approve" }).click();
    await expect(page.locator('[data-outcome="approved"]')).toBeVisible();
    await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
  } finally {
    await server.kill();
  }
});

test("a thread the restarted server does not have: the page says so instead of retrying for ever", async ({ page }) => {
  const server = new Server(3403, { HITL_IN_MEMORY: "1" });
  await server.start();
  try {
    await newThread(page, server.url);
    await server.kill();
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "reconnecting");
    await server.start();
    await expect(page.getByTestId("thread-gone")).toBeVisible({ timeout: 20_000 });
    await page.getByTestId("thread-gone").getByTestId("new-thread").click();
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "connected");
  } finally {
    await server.kill();
  }
});
