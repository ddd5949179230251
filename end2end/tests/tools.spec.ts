import { test, expect } from "@playwright/test";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { AddressInfo } from "node:net";
import { Server, newThread } from "./helpers";

// The model agent with the reference filesystem MCP server, and a model
// that speaks OpenAI's streaming format from a script: a real tool call
// waits in the browser and changes a real file once approved.

const root = path.resolve(__dirname, "../..");
const filesystem = path.join(root, "target/mcp-servers/bin/mcp-server-filesystem");

function stream(deltas: object[], finish: string): string {
  const chunk = (delta: object, finish_reason: string | null) =>
    `data: ${JSON.stringify({
      id: "chatcmpl-e2e",
      object: "chat.completion.chunk",
      created: 1764000000,
      model: "fake",
      choices: [{ index: 0, delta, finish_reason }],
    })}\n\n`;
  return deltas.map((d) => chunk(d, null)).join("") + chunk({}, finish) + "data: [DONE]\n\n";
}

/** Answers each completion request with the next scripted body. */
async function fakeModel(bodies: string[]): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(bodies.shift() ?? stream([{ content: "No more script." }], "stop"));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, close: () => server.close() };
}

test("a real MCP tool waits in the browser's card and runs when approved", async ({ page }) => {
  test.skip(!fs.existsSync(filesystem), "scripts/mcp-servers.sh installs the MCP servers");
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "hitl-e2e-fs-")));
  const notes = path.join(dir, "notes.md");
  fs.writeFileSync(notes, "draft notes\n");
  const args = { path: notes, edits: [{ oldText: "draft", newText: "final" }], dryRun: false };
  const model = await fakeModel([
    stream(
      [
        { role: "assistant", content: "" },
        {
          tool_calls: [
            {
              index: 0,
              id: "call_edit",
              type: "function",
              function: { name: "fs__edit_file", arguments: JSON.stringify(args) },
            },
          ],
        },
      ],
      "tool_calls",
    ),
    stream([{ content: "Your notes are edited." }], "stop"),
  ]);
  const config = path.join(dir, "mcp.json");
  fs.writeFileSync(
    config,
    JSON.stringify({ mcpServers: { fs: { command: filesystem, args: [dir] } } }),
  );
  const server = new Server(3404, {
    HITL_AGENT: "openai",
    OPENAI_BASE_URL: model.url,
    HITL_MODEL: "fake",
    HITL_MCP_CONFIG: config,
  });
  await server.start();
  try {
    await newThread(page, server.url);
    await page.getByTestId("message-input").fill("Tidy my notes");
    await page.getByTestId("send").click();
    // No policy names the tool: it waits, its arguments shown as they are.
    const approval = page.getByTestId("approval");
    await expect(approval.locator(".tool-name")).toHaveText("fs__edit_file");
    await expect(approval.locator(".args")).toContainText('"newText": "final"');
    expect(fs.readFileSync(notes, "utf8")).toBe("draft notes\n");
    await approval.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("outcome").last()).toContainText("Approved fs__edit_file");
    await expect(page.getByText("Your notes are edited.")).toBeVisible();
    expect(fs.readFileSync(notes, "utf8")).toBe("final notes\n");
  } finally {
    await server.kill();
    model.close();
  }
});
