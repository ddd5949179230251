import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ask, editorsLoaded, newThread } from "./helpers";

const STATES = [
  "pending", "editing", "editing-invalid", "rejecting", "submitting", "server-error",
  "about-to-expire", "expiring", "disconnected", "twenty-steps", "long-text", "tool-form",
  "responding", "several", "decided-elsewhere", "approved", "edited", "rejected", "stopped", "timed-out",
];

test("the gallery shows every state; screenshots are saved", async ({ page }) => {
  await page.goto("/gallery");
  await editorsLoaded(page);
  for (const state of STATES) {
    const item = page.locator(`[data-state="${state}"]`);
    await expect(item).toBeVisible();
    await item.screenshot({ path: `screenshots/gallery-${state}.png` });
  }
  await expect(page.locator('[data-state="editing-invalid"] [data-testid="plan-error"]')).toHaveText("Write step 2, or remove it.");
  // Any tool's form, from its schema: nested objects in an array, a boolean.
  const form = page.locator('[data-state="tool-form"] [data-testid="schema-form"]');
  await expect(form.locator("[data-path='/edits/0/newText'] input")).toHaveValue("final");
  await expect(form.locator("[data-path='/dryRun'] input[type=checkbox]")).not.toBeChecked();
  await expect(page.locator('[data-state="responding"] [data-testid="respond-text"]')).toHaveValue("The notes are final already.");
  // At zero nothing can be chosen, as on a real card.
  for (const name of ["Approve", "Edit", "Reject"]) {
    await expect(page.locator('[data-state="expiring"]').getByRole("button", { name })).toBeDisabled();
  }
  await expect(page.locator('[data-state="about-to-expire"] [data-testid="countdown"]')).toHaveClass(/urgent/);
  await expect(page.locator('[data-state="twenty-steps"] .steps li')).toHaveCount(20);
  await expect(page.locator('[data-state="several"] [data-testid="submit-all"]')).toBeDisabled();
  await page.setViewportSize({ width: 360, height: 800 });
  await page.screenshot({ path: "screenshots/gallery-phone.png", fullPage: true });
});

test("gallery screenshots are the same in two runs (fixed time and fixtures)", async ({ browser }) => {
  const shots: Buffer[][] = [];
  for (let run = 0; run < 2; run++) {
    // A fresh context each time: no state carried from the first run.
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    await page.goto("/gallery");
    await editorsLoaded(page);
    const taken: Buffer[] = [];
    for (const state of STATES) {
      taken.push(await page.locator(`[data-state="${state}"]`).screenshot({ animations: "disabled", caret: "hide" }));
    }
    // Later than the first: a ticking clock would show by now.
    await page.waitForTimeout(1100);
    taken.push(await page.locator('[data-state="pending"]').screenshot({ animations: "disabled", caret: "hide" }));
    // The whole page, the sidebar's fixture threads (waiting first) included.
    await expect(page.getByTestId("thread-list").locator("li").first()).toContainText("fusion energy");
    taken.push(await page.screenshot({ fullPage: true, animations: "disabled", caret: "hide" }));
    shots.push(taken);
    await context.close();
  }
  expect(shots[0][STATES.length].equals(shots[0][0]), "pending, a second later").toBe(true);
  STATES.forEach((state, i) => expect(shots[1][i].equals(shots[0][i]), state).toBe(true));
  expect(shots[1][STATES.length + 1].equals(shots[0][STATES.length + 1]), "the whole page").toBe(true);
});

for (const scheme of ["light", "dark"] as const) {
  test(`no serious accessibility violations (${scheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/gallery");
    await expect(page.locator('[data-state="pending"]')).toBeVisible();
    await editorsLoaded(page);
    let results = await new AxeBuilder({ page }).analyze();
    let bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`)).toEqual([]);

    await newThread(page);
    await ask(page);
    results = await new AxeBuilder({ page }).analyze();
    bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`)).toEqual([]);
  });
}
