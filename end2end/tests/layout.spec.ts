import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ask, hydrated, newThread } from "./helpers";

async function noSidewaysScroll(page: Page, what: string) {
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(widths.scroll, `${what} scrolls sideways`).toBeLessThanOrEqual(widths.client);
}

/** The element at the button's centre is the button: nothing covers it. */
async function reachable(page: Page, name: string) {
  const button = page.getByTestId("approval").getByRole("button", { name, exact: true });
  await button.scrollIntoViewIfNeeded();
  const covered = await button.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return top && (top === el || el.contains(top)) ? null : top?.outerHTML.slice(0, 80) ?? "nothing";
  });
  expect(covered, `${name} is covered`).toBeNull();
}

for (const width of [360, 390]) {
  test(`nothing scrolls sideways at ${width} px, on every page`, async ({ page, browser }) => {
    // Signed out: the sign-in page.
    const signedOut = await browser.newContext({
      viewport: { width, height: 844 },
      storageState: { cookies: [], origins: [] },
    });
    const visitor = await signedOut.newPage();
    await visitor.goto("/signin");
    await expect(visitor.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await noSidewaysScroll(visitor, "/signin");
    await signedOut.close();
    await page.setViewportSize({ width, height: 844 });
    for (const path of ["/", "/gallery"]) {
      await page.goto(path);
      await hydrated(page);
      await noSidewaysScroll(page, path);
    }
    // Pages the server renders alone (no WebAssembly).
    for (const path of ["/account", "/admin/users"]) {
      await page.goto(path);
      await noSidewaysScroll(page, path);
    }
    await newThread(page);
    await ask(page, "Create a research plan for a topic with a rather long name that goes on and on");
    await noSidewaysScroll(page, "a thread with a pending approval");
    await page.getByTestId("approval").getByRole("button", { name: "Edit" }).click();
    await noSidewaysScroll(page, "the editor");
    // Step inputs are wide enough to read.
    const box = await page.getByTestId("step-input-0").boundingBox();
    expect(box!.width).toBeGreaterThan(width / 2);
  });
}

for (const [width, height] of [[390, 844], [1280, 800]]) {
  test(`the card's buttons are reachable at ${width}x${height}`, async ({ page }) => {
    await page.setViewportSize({ width, height });
    await newThread(page);
    await ask(page);
    for (const name of ["Approve", "Edit", "Reject"]) await reachable(page, name);
    await page.getByTestId("approval").getByRole("button", { name: "Edit" }).click();
    for (const name of ["Save and run", "Cancel", "Add step"]) await reachable(page, name);
  });
}

test("the thread list shows what waits first, with its deadline", async ({ page }) => {
  await newThread(page);
  await ask(page, "Create a research plan for the waiting thread");
  const waiting = new URL(page.url()).pathname;
  // A newer thread that does not wait: the server lists it first.
  await newThread(page);
  const list = page.getByTestId("thread-list");
  const mine = list.locator(`a[href="${waiting}"]`);
  await expect(mine).toContainText("Create a research plan for the waiting thread");
  await expect(mine.getByTestId("thread-status")).toHaveText(/^Needs approval by \d\d:\d\d$/);
  // Every waiting thread before every other one.
  const badges = await list.getByTestId("thread-status").allTextContents();
  const lastWaiting = badges.map((b) => b.startsWith("Needs approval")).lastIndexOf(true);
  const firstOther = badges.findIndex((b) => !b.startsWith("Needs approval"));
  expect(firstOther).toBeGreaterThan(lastWaiting);
  expect(badges).toContain("Done");
});

for (const scheme of ["light", "dark"] as const) {
  test(`axe: home, and a pending approval with the editor closed and open (${scheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    const check = async (what: string) => {
      const results = await new AxeBuilder({ page }).analyze();
      expect(results.violations.map((v) => `${what}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target).join(" ")}`)).toEqual([]);
    };
    await page.goto("/");
    await hydrated(page);
    await check("home");
    await newThread(page);
    await ask(page);
    await check("pending");
    await page.getByTestId("approval").getByRole("button", { name: "Edit" }).click();
    await page.getByTestId("add-step").click();
    await check("editor with an error");
    await page.goto("/gallery");
    await hydrated(page);
    await check("gallery");
  });
}
