import { test, expect } from "@playwright/test";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { AddressInfo } from "node:net";
import { Server, newThread } from "./helpers";

// The model agent with the reference filesystem MCP server, and a model
// that speaks OpenAI's streaming format from a script: the generic card
// edits a nested-object argument, the server names a field in place, and
// the real tool changes a real file.

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

/** Answers each completion request with the next scripted body, and keeps
 * the requests it was sent. */
async function fakeModel(
  bodies: string[],
): Promise<{ url: string; bodies: string[]; requests: any[]; close: () => void }> {
  const requests: any[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(bodies.shift() ?? stream([{ content: "No more script." }], "stop"));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, bodies, requests, close: () => server.close() };
}

/** The model's turn that calls `fs__edit_file` with `args`. */
function editCall(args: object): string {
  return stream(
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
  );
}

/** A notes file in a fresh directory, and a server whose agent has the
 * filesystem MCP server on that directory, the fake model at `model`, and
 * `policy` if given. */
function notesAndServer(port: number, model: string, policy?: object) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "hitl-e2e-fs-")));
  const notes = path.join(dir, "notes.md");
  fs.writeFileSync(notes, "draft notes\n");
  const config = path.join(dir, "mcp.json");
  fs.writeFileSync(config, JSON.stringify({ mcpServers: { fs: { command: filesystem, args: [dir] } } }));
  const env: Record<string, string> = {
    HITL_AGENT: "openai",
    OPENAI_BASE_URL: model,
    HITL_MODEL: "fake",
    HITL_MCP_CONFIG: config,
  };
  if (policy) {
    env.HITL_TOOL_POLICY = path.join(dir, "policy.json");
    fs.writeFileSync(env.HITL_TOOL_POLICY, JSON.stringify(policy));
  }
  return { notes, server: new Server(port, env) };
}

test("the generic card edits a nested argument, shows the server's field error, and runs the real tool", async ({
  page,
}) => {
  test.skip(!fs.existsSync(filesystem), "scripts/mcp-servers.sh installs the MCP servers");
  // The file's path is in the model's scripted call: the file comes first.
  const model = await fakeModel([]);
  const { notes, server } = notesAndServer(3404, model.url);
  const args = { path: notes, edits: [{ oldText: "draft", newText: "first" }], dryRun: false };
  model.bodies.push(editCall(args), stream([{ content: "Your notes are edited." }], "stop"));
  await server.start();
  try {
    await newThread(page, server.url);
    await page.getByTestId("message-input").fill("Tidy my notes");
    await page.getByTestId("send").click();
    const approval = page.getByTestId("approval");
    await expect(approval.locator(".tool-name")).toHaveText("fs__edit_file");
    await approval.getByRole("button", { name: "Edit" }).click();
    const form = approval.getByTestId("schema-form");
    const edits = form.locator("fieldset.array[data-path='/edits']");
    await expect(edits.locator("li")).toHaveCount(1);

    // Replace the edit with an empty one: the server names both missing fields.
    await edits.getByRole("button", { name: "Remove" }).click();
    await edits.getByRole("button", { name: "Add item" }).click();
    await form.getByTestId("run-edited").click();
    const oldText = form.locator("[data-path='/edits/0/oldText']");
    await expect(oldText.locator(".field-error")).toContainText("required");
    await expect(oldText.locator("input")).toHaveAttribute("aria-invalid", "true");
    await expect(form.locator("[data-path='/edits/0/newText'] .field-error")).toBeVisible();
    expect(fs.readFileSync(notes, "utf8")).toBe("draft notes\n");

    await oldText.locator("input").fill("draft");
    await form.locator("[data-path='/edits/0/newText'] input").fill("final");
    await form.getByTestId("run-edited").click();
    await expect(page.getByTestId("outcome").last()).toContainText("Edited and approved fs__edit_file");
    await expect(page.getByText("Your notes are edited.")).toBeVisible();
    expect(fs.readFileSync(notes, "utf8")).toBe("final notes\n");

    // The Tools page, from the top bar: the server is up, its tools listed.
    await page.getByRole("link", { name: "Tools" }).click();
    const fsServer = page.locator('[data-server="fs"]');
    await expect(fsServer.getByTestId("server-status")).toHaveText("ready");
    await expect(fsServer.locator("code", { hasText: "fs__edit_file" })).toBeVisible();
    await expect(page.getByTestId("tools-summary")).toHaveText("The tool server is ready.");
  } finally {
    await server.kill();
    model.close();
  }
});

test("respond: the person's answer is the tool's result, and the tool does not run", async ({ page }) => {
  test.skip(!fs.existsSync(filesystem), "scripts/mcp-servers.sh installs the MCP servers");
  const model = await fakeModel([]);
  const { notes, server } = notesAndServer(3405, model.url, {
    rules: [{ tool: "fs__*", decisions: ["approve", "reject", "respond"] }],
  });
  const args = { path: notes, edits: [{ oldText: "draft", newText: "final" }], dryRun: false };
  model.bodies.push(editCall(args), stream([{ content: "Understood." }], "stop"));
  await server.start();
  try {
    await newThread(page, server.url);
    await page.getByTestId("message-input").fill("Tidy my notes");
    await page.getByTestId("send").click();
    const approval = page.getByTestId("approval");
    // The policy's decisions, no more: no Edit.
    await expect(approval.getByRole("button", { name: "Edit" })).toHaveCount(0);
    // N, as the panel's keys line says, or a click on "Answer instead".
    await expect(approval).toContainText("N answer");
    await expect(approval).toBeFocused();
    await page.keyboard.press("n");
    // Its form is in the editors' chunk, fetched now; it takes the focus.
    const text = approval.getByTestId("respond-text");
    await expect(text).toBeFocused();
    await expect(approval.getByTestId("confirm-respond")).toBeDisabled();
    await text.fill("They are final already; leave them.");
    await approval.getByTestId("confirm-respond").click();
    await expect(page.getByTestId("outcome").last()).toContainText("Answered in place of fs__edit_file");
    await expect(page.getByText("Understood.")).toBeVisible();
    expect(fs.readFileSync(notes, "utf8")).toBe("draft notes\n");
    const tool = model.requests[1].messages.find((m: any) => m.role === "tool");
    expect(tool).toMatchObject({ tool_call_id: "call_edit", content: "They are final already; leave them." });
  } finally {
    await server.kill();
    model.close();
  }
});
