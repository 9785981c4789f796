// Contributed answers (issue #29): after a result, people who work as a software engineer or an ML
// engineer today may add their answers and their role to the data rolefit learns from; anyone holding a
// deletion code may delete what it names.
//
// Only on a server started with `rolefit serve --collect`: the page's <meta name="rolefit-collect"> says
// so, and only then does the page ask GET /api/contributions (what is kept and what is not, in the
// server's words). Nothing is sent unless the person chooses a role and confirms. The result's one-time
// token goes with the contribution, so one result is added once at most; the server says 409 to a second
// try. The token comes with /api/guide's result when the server puts it there; else the page asks
// /api/predict for it with the same answers, once, when the person confirms (not for every result shown:
// most people never contribute, and each ask costs the server a prediction), and holds it for the result.
import { el } from "./items.js";

const $ = (id) => document.getElementById(id);
const WORKING = "Working\u2026";

let info = null;  // GET /api/contributions's body while collection is on
let ready = Promise.resolve();
let offer = null;  // {token, answers, busy} for the result shown
let shown = 0;  // which result the offer is for: a later result replaces an earlier one still loading
const added = new Set();  // the answers added from this page (as text): never offered twice
let lastAdded = null;  // {code, key} of the contribution shown, so deleting it lets its answers be added again

export function collectionOn() {
  const meta = document.querySelector("meta[name='rolefit-collect']");
  return Boolean(meta) && meta.getAttribute("content") === "on";
}

async function readJson(response) {
  try { return await response.json(); } catch (e) { return null; }
}

async function postJson(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, data: await readJson(response), retryAfter: response.headers.get("Retry-After") };
}

function fill(list, lines) {
  list.innerHTML = "";
  (lines || []).forEach((line) => list.appendChild(el("li", {}, line)));
}

// Ask the server what it keeps (once, when the page says it collects) and show the deletion form.
export function initContributions() {
  if (!collectionOn()) return;
  ready = (async () => {
    try {
      const response = await fetch("/api/contributions");
      const body = response.ok ? await readJson(response) : null;
      info = body && body.enabled === true ? body : null;
    } catch (e) {
      info = null;
    }
    if (!info) return;
    $("contribute-statement").textContent = info.statement || "";
    fill($("contribute-kept"), info.kept);
    fill($("contribute-not-kept"), info.not_kept);
    $("collect-notice").hidden = false;
    $("delete-section").hidden = false;
    $("delete-address").textContent = location.origin + "/#delete";
    if (location.hash === "#delete") {  // the address given with a deletion code: straight to the form
      $("delete-section").scrollIntoView({ block: "start" });
      $("delete-code").focus();
    }
  })();
  $("contribute-form").addEventListener("submit", (event) => { event.preventDefault(); contribute(); });
  $("copy-code").addEventListener("click", copyCode);
  $("delete-form").addEventListener("submit", (event) => { event.preventDefault(); deleteContribution(); });
  $("to-delete").addEventListener("click", (event) => {
    event.preventDefault();  // a "#..." address would be read as one of the page's views
    $("delete-title").scrollIntoView({ block: "start" });
    $("delete-code").focus();
  });
}

function key(answers) {
  return JSON.stringify(Object.keys(answers).sort().map((id) => [id, String(answers[id])]));
}

function setError(text) {
  $("contribute-error").textContent = text;
  $("contribute-error").hidden = !text;
}

// The contribution step for the result just shown: ``result`` is /api/guide's body, ``answers`` what was
// sent for it; ``theirs``: the answers of someone else's link (never offered).
export async function offerContribution(result, answers, theirs) {
  const mine = ++shown;
  const sent = { ...answers };  // as they were sent: the person may change them while this waits
  offer = null;
  $("contribute").hidden = true;
  $("link-note-added").hidden = true;
  await ready;
  if (!info || theirs || !Object.keys(sent).length || mine !== shown) return;
  const token = result && typeof result.contribution_token === "string" ? result.contribution_token : null;
  document.querySelectorAll("input[name='contribute-role']").forEach((input) => { input.checked = false; });
  $("contribute-consent").checked = false;
  $("contribute-consent").removeAttribute("aria-invalid");
  setError("");
  $("contribute-done").hidden = true;
  if (added.has(key(sent))) {
    closed("You have already added these answers from this page. Thank you.");
  } else {
    offer = { token: token, answers: sent, busy: false };
    $("contribute-ask").hidden = false;
    $("contribute-closed").hidden = true;
  }
  $("contribute").hidden = false;
}

function closed(text) {
  $("contribute-ask").hidden = true;
  $("contribute-closed").textContent = text;
  $("contribute-closed").hidden = false;
}

function reasonWords(reason) {
  if (!reason) return "";
  return /^[a-z_]+$/.test(reason) ? reason.replace(/_/g, " ") : reason.replace(/\.$/, "");
}

function showAdded(data) {
  $("contribute-ask").hidden = true;
  $("contribute-closed").hidden = true;
  $("deletion-code").textContent = data.deletion_code;
  $("copy-status").textContent = "";
  const apart = data.status === "kept_apart";
  $("contribute-done-title").textContent = apart ? "Thank you: your answers are kept, for a check first"
    : "Thank you: your answers are added";
  $("contribute-thanks").textContent = apart
    ? "They are kept apart from the rest until someone has looked at them."
      + (data.reason ? " Why: " + reasonWords(data.reason) + "." : "") + " If that was a slip, delete them with "
      + "the code below, correct your answers and add them again from the new result."
    : "Your answers and your role are added to the data rolefit learns from. The people who run this site "
      + "can use them when they next retrain it; they never change anyone's result directly.";
  $("contribute-done").hidden = false;
  $("link-note-added").hidden = false;
  $("contribute-done-title").focus();
}

// The result's token: the one held, or a new one from /api/predict for the same answers (null if none).
async function tokenFor(current) {
  if (!current.token) {
    const reply = await postJson("/api/predict", current.answers);
    if (reply.status === 200 && reply.data && typeof reply.data.contribution_token === "string") {
      current.token = reply.data.contribution_token;
    }
  }
  return current.token;
}

async function contribute() {
  if (!offer || offer.busy) return;
  const chosen = document.querySelector("input[name='contribute-role']:checked");
  const consent = $("contribute-consent").checked;
  const missing = [];
  if (!chosen) missing.push("choose your role today");
  if (!consent) missing.push("tick the box to confirm");
  if (consent) $("contribute-consent").removeAttribute("aria-invalid");
  else $("contribute-consent").setAttribute("aria-invalid", "true");
  if (missing.length) {
    setError("Nothing was sent. To add your answers, " + missing.join(" and ") + ".");
    (chosen ? $("contribute-consent") : $("contribute-role-swe")).focus();
    return;
  }
  setError("");
  const button = $("contribute-send");
  const label = button.textContent;
  offer.busy = true;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = WORKING;
  const current = offer;
  try {
    let reply;
    try {
      const token = await tokenFor(current);
      if (!token) {
        setError("The server gave no way to add this result just now, so nothing was added. Try again in a moment.");
        return;
      }
      reply = await postJson("/api/contributions", { token: token, role: chosen.value, answers: current.answers, consent: true });
    } catch (e) {
      setError("Could not reach the rolefit server, so nothing was added. Check your connection, then try again.");
      return;
    }
    const { status, data } = reply;
    if (status === 201 && data && typeof data.deletion_code === "string") {
      added.add(key(current.answers));
      lastAdded = { code: data.deletion_code, key: key(current.answers) };
      offer = null;
      showAdded(data);
    } else if (status === 409) {
      offer = null;
      closed("This result's answers were already added: each result can be added once. Nothing more was sent.");
      $("contribute-closed").focus();
    } else if (status === 422 && data && Array.isArray(data.problems)) {
      setError("Nothing was added: the server did not accept it. " + data.problems.map((p) => p.problem).join(" "));
    } else if (status === 429) {
      const wait = Number(reply.retryAfter);
      setError("Nothing was added: many answers came from your network just now. Try again in "
        + (wait > 0 ? wait + " second" + (wait === 1 ? "" : "s") : "a minute") + ".");
    } else if (status === 507) {
      offer = null;
      closed("rolefit is not taking more answers at the moment: its store is full. Nothing was added.");
    } else {
      setError("The server could not add your answers (error " + status + (data && typeof data.detail === "string"
        ? ": " + data.detail : "") + "). Nothing was added; try again in a moment.");
    }
  } finally {
    if (current) current.busy = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}

async function copyCode() {
  const code = $("deletion-code").textContent;
  try {
    await navigator.clipboard.writeText(code);
    $("copy-status").textContent = "The code is copied. Paste it somewhere you will find it again.";
  } catch (e) {
    // no clipboard here (an insecure address, or the browser refuses): select it for Ctrl+C instead
    const range = document.createRange();
    range.selectNodeContents($("deletion-code"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    $("copy-status").textContent = "This browser does not let the page copy: the code is selected, so press "
      + "Ctrl+C (or Command+C) to copy it.";
  }
}

let deleting = false;

async function deleteContribution() {
  if (deleting) return;
  const input = $("delete-code");
  const status = $("delete-status");
  const code = input.value.trim();
  if (!code) {
    input.setAttribute("aria-invalid", "true");
    status.textContent = "Enter your deletion code first.";
    input.focus();
    return;
  }
  deleting = true;
  const button = $("delete-send");
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = WORKING;
  status.textContent = "";
  try {
    let reply;
    try {
      reply = await postJson("/api/contributions/delete", { deletion_code: code });
    } catch (e) {
      status.textContent = "Could not reach the rolefit server, so nothing was deleted. Check your connection, then try again.";
      return;
    }
    if (reply.status === 200 && reply.data && reply.data.deleted === true) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      status.textContent = "Deleted. The answers and role you added are no longer kept, and they will not be in "
        + "any later copy of the data.";
      if (lastAdded && lastAdded.code === code.toUpperCase()) {
        added.delete(lastAdded.key);
        lastAdded = null;
        $("contribute-thanks").textContent = "You deleted these answers again.";
        $("link-note-added").hidden = true;
      }
    } else if (reply.status === 404) {
      input.setAttribute("aria-invalid", "true");
      status.textContent = "No contribution matches this code, so nothing was deleted. Check the code and try again.";
      input.focus();
    } else if (reply.status === 422) {
      input.setAttribute("aria-invalid", "true");
      status.textContent = "This is not a deletion code (they are four groups of four letters or digits), so "
        + "nothing was deleted.";
      input.focus();
    } else if (reply.status === 429) {
      status.textContent = "Nothing was deleted: too many tries from your network just now. Try again in a minute.";
    } else {
      status.textContent = "The server could not delete it (error " + reply.status + "). Try again in a moment.";
    }
  } finally {
    deleting = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}
