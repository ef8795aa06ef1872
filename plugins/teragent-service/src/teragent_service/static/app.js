// TerAgent web UI: plain JavaScript, no build step. Talks to the service's REST API
// with the token in an Authorization header, and to the conversation WebSocket with the
// token in the first message (never in a URL).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: localStorage.getItem("teragent-token") || "", current: null,
                ws: null, lastSeq: 0, running: false, bubble: null, tools: {} };

function api(path, options = {}) {
  options.headers = Object.assign({ Authorization: "Bearer " + state.token },
                                  options.headers || {});
  return fetch(path, options).then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.detail || r.statusText);
    return body;
  });
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function status(text) { $("status").textContent = text; }

function setRunning(on) {
  state.running = on;
  $("stop").disabled = !on;
  $("input").placeholder = on ? "Type to interrupt the agent…" : "Ask the agent…";
}

function setUsage(u) {
  if (u) $("usage").textContent = "tokens: " + (u.total_tokens || 0) +
    " (in " + (u.prompt_tokens || 0) + ", out " + (u.completion_tokens || 0) + ")";
}

function addMessage(role, text) {
  const node = el("div", { class: "msg " + role, "data-role": role }, text);
  $("messages").appendChild(node);
  node.scrollIntoView({ block: "end" });
  return node;
}

function toolBlock(id, name, input) {
  const d = el("details", { class: "tool", "data-tool-id": id });
  d.appendChild(el("summary", {}, "⚙ " + name));
  d.appendChild(el("pre", { class: "tool-input" }, JSON.stringify(input, null, 2)));
  $("messages").appendChild(d);
  state.tools[id] = d;
  state.bubble = null;
  return d;
}

async function loadConversations() {
  const list = await api("/api/conversations");
  const ul = $("conversations");
  ul.replaceChildren();
  for (const c of list) {
    const b = el("button", { type: "button", "data-id": c.id,
                              "aria-current": String(c.id === state.current) },
                 c.title || "(new conversation)");
    b.addEventListener("click", () => openConversation(c.id));
    const li = el("li"); li.appendChild(b); ul.appendChild(li);
  }
}

async function loadPresets() {
  const presets = await api("/api/presets");
  $("preset").replaceChildren(...presets.map((p) => el("option", { value: p.name }, p.name)));
}

function renderHistory(messages) {
  $("messages").replaceChildren();
  state.tools = {};
  for (const m of messages) {
    if (m.role === "user") addMessage("user", m.content);
    else if (m.role === "assistant") {
      if (m.content) addMessage("assistant", m.content);
      for (const c of m.tool_calls || []) {
        let args = c.function ? c.function.arguments : c.arguments;
        try { args = JSON.parse(args); } catch (e) { /* shown as is */ }
        toolBlock(c.id, c.function ? c.function.name : c.name, args);
      }
    } else if (m.role === "tool" && state.tools[m.tool_call_id]) {
      state.tools[m.tool_call_id].appendChild(el("pre", { class: "tool-result" }, m.content));
    }
  }
}

async function openConversation(id) {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  state.current = id;
  const conv = await api("/api/conversations/" + id);
  renderHistory(conv.messages);
  $("tasks").replaceChildren();
  $("team").replaceChildren();
  setUsage(conv.usage);
  state.lastSeq = conv.last_seq || 0;
  setRunning(conv.running);
  connect();
  loadConversations();
  loadFiles();
}

function connect() {
  const id = state.current;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/api/chat/" + id + "/ws");
  state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: state.token,
                                             last_seq: state.lastSeq }));
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = (e) => {
    if (e.code === 4401 || e.code === 4404) { status("Refused: " + e.reason); return; }
    if (state.current === id) { status("Reconnecting…"); setTimeout(connect, 1000); }
  };
}

function onEvent(e) {
  if (e.type !== "ready" && e.seq) {  // numbered events: each once, in order
    if (e.seq <= state.lastSeq) return;
    state.lastSeq = e.seq;
  }
  switch (e.type) {
    case "ready": status(e.running ? "Working…" : "Connected."); setRunning(e.running); break;
    case "turn_start": addMessage("user", e.content); state.bubble = null;
      setRunning(true); status("Working…"); break;
    case "text_delta":
      if (!state.bubble) state.bubble = addMessage("assistant", "");
      state.bubble.textContent += e.content; break;
    case "tool_call": toolBlock(e.id, e.tool, e.input); break;
    case "tool_result": {
      const d = state.tools[e.id] || toolBlock(e.id, e.tool, {});
      d.appendChild(el("pre", { class: "tool-result" + (e.success ? "" : " failed") },
                       e.result));
      break;
    }
    case "tool_approval_request": showApproval(e); break;
    case "tool_approval_result": {
      const box = document.querySelector('[data-request="' + e.request_id + '"]');
      if (box) box.remove();
      addMessage("note", e.tools.map((t) => t.name).join(", ") + ": " + e.decision);
      break;
    }
    case "interrupted": addMessage("note", "Interrupted; continuing with your message.");
      state.bubble = null; break;
    case "done": setRunning(false); state.bubble = null; setUsage(e.total_usage);
      status(e.stop_reason === "completed" ? "Done." : "Stopped: " + e.stop_reason);
      loadFiles(); loadConversations(); break;
    case "error": addMessage("error", e.message); break;
    case "compact": addMessage("note", e.message); break;
    case "subagent_start": addMessage("note", "Subagent: " + e.task); break;
    case "subagent_end": addMessage("note", "Subagent finished: " + e.summary); break;
    case "background_result": addMessage("note", "Background: " +
      e.notifications.map((n) => n.task_id + " " + n.status).join(", ")); break;
    case "teammate_status": showTeammate(e); break;
    case "task_update": showTasks(e.tasks); break;
    default: break;
  }
}

function showTasks(tasks) {
  $("tasks").replaceChildren(...tasks.map((t) => el("li", { "data-task": t.id },
    "#" + t.id + " [" + t.status + "] " + t.subject + (t.owner ? " @" + t.owner : "") +
    (t.blockedBy.length ? " (blocked by " + t.blockedBy.join(", ") + ")" : ""))));
}

function showTeammate(e) {
  let li = document.querySelector('#team [data-name="' + e.name + '"]');
  if (!li) { li = el("li", { "data-name": e.name }); $("team").appendChild(li); }
  li.textContent = e.name + " (" + e.role + "): " + e.status;
}

function showApproval(e) {
  const box = el("div", { class: "approval", role: "alertdialog",
                          "aria-label": "Approve tool call", "data-request": e.request_id });
  for (const t of e.tools) {
    box.appendChild(el("p", {}, "The agent wants to run " + t.name + ":"));
    box.appendChild(el("pre", {}, JSON.stringify(t.input, null, 2)));
  }
  const answer = (decision) => () => {
    state.ws.send(JSON.stringify({ type: "tool_approval_response", decision,
                                   request_id: e.request_id }));
    box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  };
  for (const [label, decision] of [["Approve", "approve"], ["Deny", "deny"],
                                   ["Approve all", "auto_approve"]]) {
    const b = el("button", { type: "button", "data-decision": decision }, label);
    b.addEventListener("click", answer(decision));
    box.appendChild(b);
  }
  $("approvals").appendChild(box);
  box.querySelector("button").focus();
}

async function loadFiles() {
  if (!state.current) return;
  const { files } = await api("/api/conversations/" + state.current + "/files");
  $("files").replaceChildren(...files.map((f) => {
    const b = el("button", { type: "button", "data-path": f.path }, f.path + " (" + f.size + " B)");
    b.addEventListener("click", async () => {
      const r = await api("/api/conversations/" + state.current + "/file/" +
                          f.path.split("/").map(encodeURIComponent).join("/"));
      $("preview").textContent = r.binary ? "(binary file)" : r.content;
    });
    const li = el("li"); li.appendChild(b); return li;
  }));
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  state.token = $("token").value.trim();
  localStorage.setItem("teragent-token", state.token);
  try { await loadPresets(); await loadConversations(); status("Signed in."); }
  catch (err) { status("Token refused: " + err.message); }
});

$("new-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const conv = await api("/api/chat", { method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ preset: $("preset").value || "default",
                           enable_approval: $("opt-approval").checked,
                           enable_tracing: $("opt-tracing").checked,
                           enable_teams: $("opt-teams").checked }) });
  await openConversation(conv.conversation_id);
});

$("send-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const content = $("input").value.trim();
  if (!content || !state.ws) return;
  state.ws.send(JSON.stringify({ type: state.running ? "interrupt" : "message", content }));
  $("input").value = "";
});

$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("send-form").requestSubmit(); }
});

$("stop").addEventListener("click", () => {
  if (state.ws) state.ws.send(JSON.stringify({ type: "cancel" }));
});

$("upload-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("upload");
  if (!state.current || !input.files.length) return;
  const form = new FormData();
  for (const f of input.files) form.append("files", f);
  try {
    const r = await api("/api/conversations/" + state.current + "/upload",
                        { method: "POST", body: form });
    status("Uploaded " + r.uploaded.join(", "));
    input.value = "";
    loadFiles();
  } catch (err) { status("Upload refused: " + err.message); }
});

// A service started with --open needs no token; otherwise this asks for one.
$("token").value = state.token;
loadPresets().then(loadConversations).then(() => status("Ready."))
  .catch(() => status("Enter your API token."));
