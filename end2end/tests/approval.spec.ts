import { test, expect } from "@playwright/test";
import { ask, countDecisions, newThread } from "./helpers";

test("approve runs the plan and the outcome stays in the history", async ({ page }) => {
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await expect(approval.getByRole("heading", { name: "Anthropic" })).toBeVisible();
  await expect(approval.locator(".steps li")).toHaveCount(4);
  await expect(approval).toBeFocused();
  await expect(page.getByTestId("countdown")).toContainText(/Expires in \d:\d\d/);
  await expect(page.getByTestId("message-input")).toHaveAttribute("readonly", "");
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(approval).toBeHidden();
  await expect(page.locator('[data-outcome="approved"]')).toContainText("Approved");
  await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
  await expect(page.getByTestId("message-input")).not.toHaveAttribute("readonly", "");
});

test("edit: change the topic, edit, add, remove and reorder steps", async ({ page }) => {
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await approval.getByRole("button", { name: "Edit" }).click();
  await page.getByTestId("topic-input").fill("Constitutional AI");
  await page.getByTestId("step-input-0").fill("Read the paper");
  await page.getByRole("button", { name: "Remove Step 4" }).click();
  await page.getByRole("button", { name: "Remove Step 3" }).click();
  await page.getByTestId("add-step").click();
  // An empty step is refused before anything is sent.
  // In a person's words, next to the field, and tied to it.
  await expect(page.getByTestId("plan-error")).toHaveText("Write step 3, or remove it.");
  await expect(page.getByTestId("step-input-2")).toHaveAttribute("aria-invalid", "true");
  const described = await page.getByTestId("step-input-2").getAttribute("aria-describedby");
  await expect(page.locator(`[id="${described}"]`)).toHaveText("Write step 3, or remove it.");
  await expect(page.getByTestId("save-edit")).toBeDisabled();
  await page.getByTestId("step-input-2").fill("Interview the authors");
  await page.getByRole("button", { name: "Move Step 3 up" }).click();
  await expect(page.getByTestId("step-input-1")).toHaveValue("Interview the authors");
  await expect(page.getByTestId("plan-error")).toBeHidden();
  await page.getByTestId("save-edit").click();
  const edited = page.locator('[data-outcome="edited"]');
  await expect(edited).toContainText("Constitutional AI (was: Anthropic)");
  // The steps as a list, with what changed against the proposal.
  await expect(edited.locator(".outcome-steps li")).toHaveText([
    "Read the paper (changed)",
    "Interview the authors (changed)",
    "Identify the key people, products and publications of Anthropic",
  ]);
  await expect(edited.locator(".outcome-removed")).toContainText("Survey the background and history of Anthropic");
  const messages = page.getByTestId("messages");
  await expect(messages).toContainText("1. Read the paper");
  await expect(messages).toContainText("2. Interview the authors");
  await expect(messages).toContainText("3. Identify the key people");
});

test("edit then cancel returns to the plan unchanged", async ({ page }) => {
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await approval.getByRole("button", { name: "Edit" }).click();
  await page.getByTestId("topic-input").fill("Something else");
  await page.getByTestId("cancel-edit").click();
  await expect(approval.getByRole("heading", { name: "Anthropic" })).toBeVisible();
});

test("reject with a reason", async ({ page }) => {
  await newThread(page);
  await ask(page);
  await page.getByTestId("approval").getByRole("button", { name: "Reject" }).click();
  await page.getByTestId("reject-reason").fill("Focus on safety research instead");
  await page.getByTestId("confirm-reject").click();
  const outcome = page.locator('[data-outcome="rejected"]');
  await expect(outcome).toContainText("Rejected");
  await expect(outcome).toContainText("Focus on safety research instead");
  await expect(page.getByTestId("messages")).toContainText('You said: "Focus on safety research instead"');
});

test("a double click sends exactly one decision", async ({ page }) => {
  const decisions = countDecisions(page);
  await newThread(page);
  await ask(page);
  await page.getByTestId("approval").getByRole("button", { name: "Approve" }).dblclick();
  await expect(page.locator('[data-outcome="approved"]')).toHaveCount(1);
  await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
  expect(decisions()).toBe(1);
  await expect(page.getByTestId("decision-error")).toHaveCount(0);
});

test("stop cancels a run that waits for approval", async ({ page }) => {
  await newThread(page);
  await ask(page);
  await page.getByTestId("stop").click();
  await expect(page.getByTestId("run-ended")).toHaveText("Stopped.");
  await expect(page.getByTestId("approval")).toBeHidden();
  // Said as a stop, not as a rejection.
  await expect(page.locator('[data-outcome="stopped"]')).toContainText("Stopped: create_research_plan was not run");
  await expect(page.locator('[data-outcome="rejected"]')).toHaveCount(0);
});

test("an unsaved edit survives a reload of the thread; Cancel forgets it", async ({ page }) => {
  await newThread(page);
  await ask(page);
  await page.getByTestId("approval").getByRole("button", { name: "Edit" }).click();
  await page.getByTestId("topic-input").fill("Half-finished topic");
  await page.getByTestId("step-input-1").fill("A step being written");
  await page.reload();
  await expect(page.getByTestId("topic-input")).toHaveValue("Half-finished topic");
  await expect(page.getByTestId("step-input-1")).toHaveValue("A step being written");
  await page.getByTestId("cancel-edit").click();
  await page.reload();
  const approval = page.getByTestId("approval");
  await expect(approval.getByRole("heading", { name: "Anthropic", exact: true })).toBeVisible();
  await expect(page.getByTestId("editor")).toHaveCount(0);
});

test("an editor whose code cannot be fetched says so, and the card still decides", async ({ page }) => {
  // The editors' chunk fails as it would on a network error (or for a page
  // older than the server's build): the module must not abort.
  await page.route(/\/pkg\/split_.*\.wasm$/, (route) => route.abort());
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await approval.getByRole("button", { name: "Edit" }).click();
  await expect(approval.getByTestId("editor-failed")).toBeVisible();
  await approval.getByRole("button", { name: "Back" }).click();
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator('[data-outcome="approved"]')).toContainText("Approved");
});
