import { test, expect } from "@playwright/test";
import { newThread, Server } from "./helpers";

test("an unanswered approval counts down and times out", async ({ page }) => {
  const server = new Server(3402, { HITL_DECISION_TIMEOUT_SECS: "4" });
  await server.start();
  try {
    await newThread(page, server.url);
    await page.getByTestId("message-input").fill("Create a research plan for Anthropic");
    await page.getByTestId("message-input").press("Enter");
    const countdown = page.getByTestId("countdown");
    await expect(countdown).toContainText(/Expires in 0:0[1-4]/);
    await expect(countdown).toHaveClass(/urgent/);
    const outcome = page.locator('[data-outcome="expired"]');
    await expect(outcome).toContainText("Timed out", { timeout: 15_000 });
    await expect(page.getByTestId("approval")).toBeHidden();
    await expect(page.getByTestId("messages")).toContainText("expired unanswered");
  } finally {
    await server.kill();
  }
});
