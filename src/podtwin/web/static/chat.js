// The twin's chat: posts to the OpenAI-compatible endpoint with stream: true and shows the
// answer as it arrives, then its citations as links to the quoted sentences. Without
// JavaScript the form posts to the page itself and the answer comes back rendered.
const form = document.getElementById("ask");
const list = document.getElementById("conversation");
const history = [];
const prior = document.getElementById("history");
if (prior && prior.value) history.push(...prior.value.split("\n").filter(Boolean));

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text; // never innerHTML: transcripts are untrusted
  return node;
}

function render(box, reply, citations) {
  box.textContent = "";
  box.className = "answer" + (reply.abstained ? " abstained" : "") + (reply.declined_by_policy ? " declined" : "");
  // each block of the answer its own paragraph: the parts of one block (its introducing line,
  // its words), and every part outside a block (a note) a paragraph of its own
  let p = null;
  let block = null;
  for (const part of reply.parts) {
    const at = part.block === undefined ? null : part.block;
    if (p === null || at === null || at !== block) {
      p = el("p", "block");
      box.append(p);
    }
    block = at;
    if (part.citation === null) {
      p.append(el("span", "framing", part.text), " ");
    } else {
      const c = citations[part.citation];
      const ref = el("a", "ref", "[" + c.n + "]");
      ref.href = c.url;
      p.append(el("span", "said", part.text), " ", ref, " ");
    }
  }
  if (citations.length) {
    const ol = el("ol", "citations");
    for (const c of citations) {
      const li = el("li");
      const a = el("a", null, c.speaker + ", " + c.episode + ", " + c.position);
      a.href = c.url;
      li.append(a, ": ", el("q", null, c.quote));
      ol.append(li);
    }
    box.append(ol);
  }
  box.append(el("p", "disclosure", reply.disclosure));
  if (reply.question_id) box.append(flagButton(reply.question_id));
}

// "Flag this answer": no account needed; the API counts a few a minute per address
function flagButton(questionId) {
  const wrap = el("p", "flag");
  const button = el("button", null, "Flag this answer");
  button.type = "button";
  button.addEventListener("click", async () => {
    const reason = (window.prompt("What is wrong with this answer? (optional)") || "").slice(0, 500);
    button.disabled = true;
    const response = await fetch("/api/questions/" + questionId + "/flag", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ reason }),
    });
    wrap.textContent = response.ok
      ? "Flagged for the creator. Thank you."
      : response.status === 429 ? "Too many flags from here; try again in a minute." : "Could not flag (" + response.status + ").";
  });
  wrap.append(button);
  return wrap;
}

async function ask(question) {
  list.append(el("li", "you", question));
  const item = el("li", "twin");
  const box = el("div", "answer streaming");
  const text = el("p");
  box.append(text);
  item.append(box);
  list.append(item);
  const messages = history.map((q) => ({ role: "user", content: q }));
  messages.push({ role: "user", content: question });
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: form.dataset.model, messages, stream: true }),
  });
  if (!response.ok || !response.body) {
    let message = "The twin could not answer (" + response.status + ").";
    try { const body = await response.json(); message = (body.error && (body.error.message || body.error)) || message; } catch (e) {}
    box.className = "answer";
    text.textContent = message;
    text.className = "error";
    return;
  }
  history.push(question);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let at;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, at).trim();
      buffer = buffer.slice(at + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) { text.textContent = chunk.error.message; text.className = "error"; continue; }
      const delta = chunk.choices[0].delta;
      if (delta.content) text.textContent += delta.content;
      if (chunk.podtwin) render(box, chunk.podtwin, chunk.citations);
    }
  }
}

if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const field = document.getElementById("question");
    const question = field.value.trim();
    if (!question) return;
    field.value = "";
    ask(question).catch((e) => list.append(el("li", "error", "The twin could not answer: " + e)));
  });
}
