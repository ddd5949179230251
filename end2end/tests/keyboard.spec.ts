import { test, expect, Page } from "@playwright/test";
import { ask, newThread } from "./helpers";

const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return el ? el.getAttribute("data-testid") ?? el.getAttribute("aria-label") ?? el.textContent?.trim() : null;
  });

test("the whole edit flow by keyboard alone, focus kept where the person is", async ({ page }) => {
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await expect(approval).toBeFocused();
  await expect(approval).toContainText("Keys: A approve · E edit · R reject · Esc back");

  // E opens the editor on its first field; Escape leaves it unchanged.
  await page.keyboard.press("e");
  await expect(page.getByTestId("topic-input")).toBeFocused();
  await page.keyboard.type(" and friends");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("editor")).toHaveCount(0);
  await expect(approval.getByRole("heading", { name: "Anthropic", exact: true })).toBeVisible();
  await expect(approval.getByRole("button", { name: "Edit" })).toBeFocused();

  // Enter on the focused Edit button, then Tab through the form.
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("topic-input")).toBeFocused();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("Constitutional AI");
  await page.keyboard.press("Tab");
  await expect(page.getByTestId("step-input-0")).toBeFocused();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("Read the paper");
  await page.keyboard.press("Tab");
  await expect.poll(() => focused(page)).toBe("Move Step 1 up");
  await page.keyboard.press("Tab");
  await expect.poll(() => focused(page)).toBe("Move Step 1 down");
  // Moving a step keeps focus on the moved step's button, now step 2's.
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("step-input-1")).toHaveValue("Read the paper");
  await expect.poll(() => focused(page)).toBe("Move Step 2 down");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("step-input-2")).toHaveValue("Read the paper");
  await expect.poll(() => focused(page)).toBe("Move Step 3 down");
  // Removing a step puts focus on the step that took its place.
  await page.keyboard.press("Tab");
  await expect.poll(() => focused(page)).toBe("Remove Step 3");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("step-input-2")).toBeFocused();
  await expect(page.getByTestId("step-input-2")).not.toHaveValue("Read the paper");
  // Adding a step focuses it.
  await page.getByTestId("add-step").focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("step-input-3")).toBeFocused();
  await page.keyboard.type("Interview the authors");
  // Save by keyboard: focus lands on the outcome.
  await page.getByTestId("save-edit").focus();
  await page.keyboard.press("Enter");
  const outcome = page.locator('[data-outcome="edited"]');
  await expect(outcome).toBeFocused();
  await expect(outcome).toContainText("Constitutional AI");
  await expect(outcome.locator(".outcome-steps li").last()).toHaveText("Interview the authors (changed)");
});

test("one-key choices: R opens the reason, Escape goes back, A approves", async ({ page }) => {
  await newThread(page);
  await ask(page);
  const approval = page.getByTestId("approval");
  await expect(approval.getByRole("button", { name: "Approve" })).toHaveAttribute("aria-keyshortcuts", "A");
  await page.keyboard.press("r");
  await expect(page.getByTestId("reject-reason")).toBeFocused();
  // Typing an "a" in the reason is text, not a choice.
  await page.keyboard.type("a");
  await expect(page.getByTestId("reject-reason")).toHaveValue("a");
  await page.keyboard.press("Escape");
  await expect(approval.getByRole("button", { name: "Reject" })).toBeFocused();
  await page.keyboard.press("a");
  await expect(page.locator('[data-outcome="approved"]')).toBeFocused();
  await expect(page.getByTestId("messages")).toContainText("The research plan is done.");
});
