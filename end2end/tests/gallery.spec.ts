import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ask, newThread } from "./helpers";

const STATES = [
  "pending", "editing", "editing-invalid", "rejecting", "submitting", "server-error",
  "about-to-expire", "expiring", "disconnected", "twenty-steps", "long-text", "several",
  "approved", "edited", "rejected", "timed-out",
];

test("the gallery shows every state; screenshots are saved", async ({ page }) => {
  await page.goto("/gallery");
  for (const state of STATES) {
    const item = page.locator(`[data-state="${state}"]`);
    await expect(item).toBeVisible();
    await item.screenshot({ path: `screenshots/gallery-${state}.png` });
  }
  await expect(page.locator('[data-state="editing-invalid"] [data-testid="plan-error"]')).toHaveText("Step 2 is empty");
  await expect(page.locator('[data-state="about-to-expire"] [data-testid="countdown"]')).toHaveClass(/urgent/);
  await expect(page.locator('[data-state="twenty-steps"] .steps li')).toHaveCount(20);
  await expect(page.locator('[data-state="several"] [data-testid="submit-all"]')).toBeDisabled();
  await page.setViewportSize({ width: 360, height: 800 });
  await page.screenshot({ path: "screenshots/gallery-phone.png", fullPage: true });
});

for (const scheme of ["light", "dark"] as const) {
  test(`no serious accessibility violations (${scheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/gallery");
    await expect(page.locator('[data-state="pending"]')).toBeVisible();
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
