// The questionnaire page: a start view, the groups as steps (or Quick: the most telling question
// next, from /api/next-questions), and the result (/api/guide) as its own view.
//
// Where the answers live: the page's address after "#" (never sent to a server, so nothing reaches a log;
// a result link can be bookmarked or shared) and the browser's local storage (resume after a reload).
// Addresses: "#start", "#step/2?interest_math=5&...", "#quick?...&skipped=a,b", "#result?...".
// Moving between steps, questions and the result adds a history entry, so Back and Forward move
// between them; changing an answer replaces the current entry.
import { allowedWords, clearError, el, exactNumber, isChoiceLike, markError, parseNumber, problemWords, questionText, readItem, renderItem, renderQuestion, setItem, tickQuestion } from "./items.js";
import { initContributions, offerContribution } from "./contribute.js";
import { showNextQuestions, showResult, toggleAllReasons } from "./result.js";

const $ = (id) => document.getElementById(id);
const STORE = "rolefit.answers.v1";
const SECONDS_PER_QUESTION = 7;  // measured by hand on the 44-item form: about 5 minutes in all
const VIEWS = ["start-view", "steps-view", "quick-view", "result-view"];

let questionnaire = null;  // {groups, items}
// Item id -> item, with no prototype: a name in a link such as "constructor", "__proto__" or "toString"
// is then not an item (on a plain object `"constructor" in byId` is true, and the page broke on it).
let byId = Object.create(null);
let state = { mode: null, answers: {}, skipped: [] };
let view = { name: "start", step: 0 };
let busy = false;
let retry = null;  // what "Try again" repeats
let shownItem = null;  // the item asked in Quick mode
// While someone else's result link is shown: the person's own {mode, answers, skipped}, kept unchanged.
let own = null;

// ---- addresses and storage ----------------------------------------------------------------------

function encode(name, step) {
  const params = new URLSearchParams();
  questionnaire.items.forEach((item) => {
    if (item.id in state.answers) params.set(item.id, String(state.answers[item.id]));
  });
  if (state.skipped.length) params.set("skipped", state.skipped.join(","));
  const query = params.toString();
  return "#" + (name === "step" ? "step/" + (step + 1) : name) + (query ? "?" + query : "");
}

// The view and answers in an address; answers for unknown questions are left out and named. A number
// is kept as a number only when a JavaScript number holds it exactly (see exactNumber); otherwise as its
// text, which refusedHere() refuses before anything is sent.
function decode(hash) {
  const [path, query] = hash.replace(/^#/, "").split("?");
  const match = /^step\/(\d+)$/.exec(path);
  const parsed = { name: match ? "step" : ["quick", "result"].includes(path) ? path : "start", step: 0,
    answers: {}, skipped: [], unknown: [], has: Boolean(query) };
  if (match) parsed.step = Math.min(Math.max(Number(match[1]) - 1, 0), questionnaire.groups.length - 1);
  new URLSearchParams(query || "").forEach((value, key) => {
    if (key === "skipped") {
      value.split(",").filter(Boolean).forEach((id) => { if (id in byId) parsed.skipped.push(id); else parsed.unknown.push(id); });
    } else if (key in byId) {
      parsed.answers[key] = byId[key].kind !== "choice" && exactNumber(value) ? Number(value) : value;
    } else {
      parsed.unknown.push(key);
    }
  });
  return parsed;
}

// Only the answers to this questionnaire's items (what local storage kept may be from anywhere).
function onlyItems(answers) {
  const kept = {};
  Object.keys(answers || {}).forEach((id) => { if (id in byId) kept[id] = answers[id]; });
  return kept;
}

// Answers the page refuses itself, as the server words its refusals: numbers in a link that a
// JavaScript number cannot hold exactly (more than 15 digits, beyond Number.MAX_SAFE_INTEGER), which
// would otherwise be sent changed (or, once Infinity, as null: dropped without a word).
function refusedHere(answers) {
  return Object.keys(answers)
    .filter((id) => id in byId && byId[id].kind !== "choice" && typeof answers[id] === "string"
      && /^-?\d+(\.\d+)?$/.test(answers[id]) && !exactNumber(answers[id]))
    .map((id) => ({ item: id, problem: "got a number with " + answers[id].replace(/\D/g, "").length
      + " digits; allowed: " + allowedWords(byId[id]) }));
}

function save() {
  if (!state.mode || own) return;  // nothing chosen yet, or someone else's answers: keep the person's own
  try {
    localStorage.setItem(STORE, JSON.stringify({ ...state, view: location.hash, saved: Date.now() }));
  } catch (e) { /* storage full or disabled: the address still holds the answers */ }
}

function saved() {
  try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { return null; }
}

function forget() {
  try { localStorage.removeItem(STORE); } catch (e) { /* nothing to forget */ }
}

function go(name, step, replace) {
  view = { name: name, step: step || 0 };
  const hash = encode(name, view.step);
  if (replace) history.replaceState(history.state, "", hash); else history.pushState({ view: view.name }, "", hash);
  save();
  render(true);
}

// An answer changed: the current address and the saved copy follow it.
function changed() {
  history.replaceState(history.state, "", encode(view.name, view.step));
  save();
  updateProgress();
}

// ---- problems and requests ----------------------------------------------------------------------

function showProblem(message, again) {
  $("problem-text").textContent = message;
  $("retry").hidden = !again;
  retry = again || null;
  $("problem").hidden = false;
  if (again) $("retry").focus(); else $("problem").scrollIntoView({ block: "nearest" });
}

function hideProblem() { $("problem").hidden = true; retry = null; }

// POST JSON; resolves to the parsed body, or throws {kind: "network"|"server"|"invalid", ...}.
async function post(url, body) {
  let response;
  try {
    response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) {
    throw { kind: "network" };
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 422 && data && Array.isArray(data.problems)) throw { kind: "invalid", problems: data.problems };
  if (!response.ok || data === null) {
    throw { kind: "server", status: response.status, detail: data && typeof data.detail === "string" ? data.detail : "" };
  }
  return data;
}

// POST the answers to ``url``: as post(), but the answers refusedHere() are not sent, and are refused
// with the server's refusals, or alone.
async function postAnswers(url) {
  const refused = refusedHere(state.answers);
  const sent = { ...state.answers };
  refused.forEach((p) => { delete sent[p.item]; });
  let body;
  try {
    body = await post(url, sent);
  } catch (error) {
    if (error.kind === "invalid") throw { kind: "invalid", problems: [...refused, ...error.problems] };
    throw error;
  }
  if (refused.length) throw { kind: "invalid", problems: refused };
  return body;
}

function failure(error, again) {
  if (error.kind === "network") {
    showProblem("Could not reach the rolefit server. Check your connection, then try again. Your answers are kept.", again);
  } else if (error.kind === "server") {
    showProblem("The server could not answer (error " + error.status + (error.detail ? ": " + error.detail : "")
      + "). Your answers are kept; try again in a moment.", again);
  } else {
    throw error;
  }
}

// Run ``work`` once at a time, with ``button`` disabled and busy meanwhile: one request per click.
async function whileBusy(button, work) {
  if (busy) return;
  busy = true;
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = "Working\u2026";
  document.body.classList.add("busy");
  try {
    await work();
  } finally {
    busy = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (button.textContent === "Working\u2026") button.textContent = label;  // unless the view relabelled it
    document.body.classList.remove("busy");
  }
}

// ---- the start view -----------------------------------------------------------------------------

function renderStart() {
  const kept = saved();
  const count = kept ? Object.keys(kept.answers || {}).length : 0;
  $("resume").hidden = !kept || (!count && !(kept.skipped || []).length);
  if (!$("resume").hidden) {
    const when = new Date(kept.saved).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
    $("resume-text").textContent = count + " answer" + (count === 1 ? " is" : "s are") + " kept in this browser (last changed " + when + ").";
  }
}

// ---- the stepped form ---------------------------------------------------------------------------

function itemsOf(group) { return questionnaire.items.filter((i) => i.group === group.id); }
// The questions a person sees: an item, or a multi-choice question (all its options) counted once.
function unitOf(id) { return byId[id] && byId[id].question ? byId[id].question : id; }
function units(ids) { return [...new Set(ids.map(unitOf))]; }
function optionsOf(questionId) { return questionnaire.items.filter((i) => i.question === questionId); }

function buildSteps() {
  const box = $("steps");
  box.innerHTML = "";
  const nav = $("step-list");
  nav.innerHTML = "";
  let number = 0;
  questionnaire.groups.forEach((group, index) => {
    const section = el("div", { class: "step", id: "section-" + group.id, "data-step": String(index), hidden: "" });
    itemsOf(group).forEach((item) => {
      if (item.question) {
        if (item.id !== optionsOf(item.question)[0].id) return;  // the question is drawn once, whole
        const question = (questionnaire.questions || []).find((q) => q.id === item.question);
        number += 1;
        section.appendChild(renderQuestion(question, optionsOf(item.question), number));
        return;
      }
      number += 1;
      section.appendChild(renderItem(item, number));
    });
    box.appendChild(section);
    const li = el("li", {});
    const button = el("button", { type: "button", class: "step-link", id: "goto-" + group.id, "data-step": String(index) });
    button.appendChild(el("span", { class: "step-number" }, String(index + 1)));
    button.appendChild(el("span", { class: "step-name" }, group.title));
    button.appendChild(el("span", { class: "step-count" }, ""));
    li.appendChild(button);
    nav.appendChild(li);
  });
}

function answered(ids) { return units(ids.filter((id) => id in state.answers)).length; }

function updateProgress() {
  const total = units(questionnaire.items.map((i) => i.id)).length;
  const done = answered(questionnaire.items.map((i) => i.id));
  const open = units(questionnaire.items.filter((i) => !(i.id in state.answers) && !state.skipped.includes(i.id)).map((i) => i.id)).length;
  const minutes = Math.ceil((open * SECONDS_PER_QUESTION) / 60);
  const group = questionnaire.groups[view.step];
  const here = itemsOf(group).map((i) => i.id);
  $("progress-text").textContent = "Step " + (view.step + 1) + " of " + questionnaire.groups.length + ": "
    + answered(here) + " of " + units(here).length + " answered here; " + done + " of " + total + " in all"
    + (open ? ", about " + minutes + " minute" + (minutes === 1 ? "" : "s") + " left." : ".");
  $("progress").value = done;
  $("progress").max = total;
  questionnaire.groups.forEach((g, index) => {
    const ids = itemsOf(g).map((i) => i.id);
    const button = $("goto-" + g.id);
    button.querySelector(".step-count").textContent = answered(ids) + "/" + units(ids).length;
    button.setAttribute("aria-label", "Step " + (index + 1) + ", " + g.title + ": " + answered(ids) + " of " + units(ids).length + " answered");
    if (index === view.step) button.setAttribute("aria-current", "step"); else button.removeAttribute("aria-current");
  });
}

function renderSteps(focus) {
  const group = questionnaire.groups[view.step];
  document.querySelectorAll("#steps .step").forEach((section) => { section.hidden = Number(section.dataset.step) !== view.step; });
  questionnaire.items.forEach((item) => setItem(item, $("steps-view"), state.skipped.includes(item.id) ? "" : state.answers[item.id]));
  (questionnaire.questions || []).forEach((q) => {  // "None of these": answered, and nothing ticked
    const none = document.getElementById(q.id + "-none");
    if (none) none.checked = q.items.every((id) => state.answers[id] === 0);
  });
  $("step-title").textContent = group.title;
  $("step-prompt").textContent = group.prompt;
  $("step-back").textContent = view.step ? "Back" : "Back to the start";
  $("step-next").textContent = view.step === questionnaire.groups.length - 1 ? "See my result" : "Next";
  updateProgress();
  if (focus) $("step-title").focus();
}

// Keep ``value`` as the item's answer: a value, "" for an explicit skip, undefined for none.
function record(item, value) {
  delete state.answers[item.id];
  state.skipped = state.skipped.filter((id) => id !== item.id);
  if (value === "") state.skipped.push(item.id);
  else if (value !== undefined) state.answers[item.id] = value;
}

// A control of the stepped form changed: its answer goes into the state and the address. A number box
// that cannot be read says so on leaving it or on Next, not while the person is typing.
function readControl(target) {
  const box = target.closest("[data-item]");
  if (!box) return;
  const item = byId[box.dataset.item];
  if (item.question) {  // one tick answers the whole question: every option is recorded again
    tickQuestion(target);
    optionsOf(item.question).forEach((option) => record(option, readItem(option, $("steps-view"))));
    changed();
    return;
  }
  if (!isChoiceLike(item) && parseNumber(target.value, item).error) return;
  clearError(item, $("steps-view"));
  record(item, readItem(item, $("steps-view")));
  changed();
}

// Check the number boxes of the shown step; mark every one that cannot be read, focus the first.
function checkNumbers(items, root, prefix) {
  let first = null;
  items.filter((item) => !isChoiceLike(item)).forEach((item) => {
    const input = root.querySelector("#" + CSS.escape((prefix || "") + item.id));
    const parsed = parseNumber(input.value, item);
    if (parsed.error) {
      const control = markError(item, root, parsed.error, prefix);
      first = first || control;
    }
  });
  if (first) { first.scrollIntoView({ block: "center" }); first.focus(); }
  return !first;
}

function nextStep() {
  const group = questionnaire.groups[view.step];
  if (!checkNumbers(itemsOf(group), $("steps-view"))) return;
  itemsOf(group).forEach((item) => readControl($("steps-view").querySelector("[data-item='" + item.id + "'] input")));
  if (view.step < questionnaire.groups.length - 1) go("step", view.step + 1);
  else go("result");
}

// The server's problems beside their questions, in words; the first one focused.
function showInvalid(problems) {
  const known = problems.filter((p) => p.item in byId);
  if (state.mode === "quick" || own || !known.length) {  // in someone else's link: left out, not edited
    const words = known.map((p) => "\u201c" + questionText(byId[p.item].text, groupPrompt(p.item)) + "\u201d: " + problemWords(p.problem));
    known.forEach((p) => { delete state.answers[p.item]; });
    changed();
    showProblem((words.length ? "Some answers in this link are not allowed and were left out. " + words.join(" ")
      + " Try again to go on without them." : problems.map((p) => p.problem).join(" ")), () => render(true));
    return;
  }
  const step = questionnaire.groups.findIndex((g) => g.id === byId[known[0].item].group);
  view = { name: "step", step: step };
  history.replaceState(history.state, "", encode("step", step));
  showView("steps-view");
  renderSteps(false);
  let first = null;
  known.forEach((p) => {
    const control = markError(byId[p.item], $("steps-view"), problemWords(p.problem));
    first = first || control;
  });
  const more = known.length - 1;
  showProblem((more ? known.length + " answers need" : "One answer needs") + " a change before we can show your result; "
    + (more ? "they are marked." : "it is marked."), null);
  first.scrollIntoView({ block: "center" });
  first.focus();
}

function groupPrompt(id) {
  const group = questionnaire.groups.find((g) => g.id === byId[id].group);
  return group ? group.prompt : "";
}

// ---- Quick: the most telling question next ------------------------------------------------------

// The fit is settled once the server moves past its fit questions (C2: phase "readiness" or "done"; a
// server without phases says so in settled.settled).
function fitSettled(body) {
  return body.phase ? body.phase === "readiness" || body.phase === "done" : Boolean(body.settled && body.settled.settled);
}

// "about 4 questions left", from the server's estimate (the stopping rule's), never a fixed number.
function leftWords(body, next) {
  if (!next) return "nothing more to ask.";
  if (typeof body.expected_left !== "number") return "";
  const left = Math.max(1, Math.round(body.expected_left));
  return "about " + left + " question" + (left === 1 ? "" : "s") + " left.";
}

async function askNext(focus) {
  const query = "/api/next-questions?k=1" + state.skipped.map((id) => "&skipped=" + encodeURIComponent(id)).join("");
  let body;
  try {
    body = await postAnswers(query);
  } catch (error) {
    if (error.kind === "invalid") return showInvalid(error.problems);
    return failure(error, () => whileBusy($("quick-next"), () => askNext(true)));
  }
  hideProblem();
  const count = Object.keys(state.answers).length;
  const done = count + state.skipped.length;
  const settledNow = fitSettled(body) && count > 0;
  const next = body.questions[0];
  $("quick-settled").hidden = !settledNow;
  $("quick-done").hidden = Boolean(next);
  $("quick-form").hidden = !next;
  $("quick-phase").hidden = body.phase !== "readiness" || !next;
  $("quick-title").textContent = body.phase === "readiness" && next ? "Where you stand today" : "Quick questions";
  // once the fit is settled, "See my result" is the main button and Next the other
  $("quick-result").classList.toggle("secondary", !settledNow && Boolean(next));
  $("quick-next").classList.toggle("secondary", settledNow);
  const left = leftWords(body, next);
  $("quick-progress").textContent = "Answered " + count + (state.skipped.length ? ", skipped " + state.skipped.length : "")
    + (left ? "; " + left : ".");
  if (typeof body.expected_left === "number" || !next) {
    $("quick-bar").max = Math.max(1, done + (next ? Math.max(1, Math.round(body.expected_left)) : 0));
    $("quick-bar").value = done;
  } else {
    $("quick-bar").removeAttribute("value");  // no estimate: an indeterminate bar, not a made-up total
  }
  $("quick-back").hidden = !(history.state && history.state.view === "quick");
  const box = $("quick-item");
  box.innerHTML = "";
  shownItem = null;
  if (!next) { if (focus) $("quick-result").focus(); return; }
  shownItem = byId[next.item];
  box.appendChild(renderItem({ ...shownItem, text: questionText(next.question, next.prompt) }, done + 1, "q-"));
  if (focus) {
    const first = box.querySelector("input");
    if (first) first.focus();
  }
}

function quickSubmit() {
  if (!shownItem) return;
  const item = shownItem;
  if (!checkNumbers([item], $("quick-form"), "q-")) return;
  const value = readItem(item, $("quick-form"), "q-");
  record(item, value === undefined ? "" : value);  // Next with no answer skips the question
  view = { name: "quick", step: 0 };
  history.pushState({ view: "quick" }, "", encode("quick"));
  save();
  return askNext(true);
}

// ---- the result ---------------------------------------------------------------------------------

async function loadResult(focus) {
  let body;
  $("waiting").hidden = false;
  try {
    body = await postAnswers("/api/guide");
  } catch (error) {
    $("waiting").hidden = true;
    if (error.kind === "invalid") return showInvalid(error.problems);
    return failure(error, () => whileBusy(state.mode === "quick" ? $("quick-result") : $("step-next"), () => loadResult(true)));
  }
  $("waiting").hidden = true;
  hideProblem();
  showResult(body, (id) => (id in byId ? byId[id].group : ""));
  $("visiting").hidden = !own;
  $("again").hidden = $("result-start-over").hidden = Boolean(own);
  showView("result-view");
  if (focus) $("result-title").focus();
  offerContribution(body, state.answers, Boolean(own));  // only when the server collects (issue #29)
  if (body.guidance.answers_needed) {
    try { showNextQuestions(await post("/api/next-questions?k=3", state.answers)); } catch (e) { showNextQuestions(null); }
  }
}

// ---- views --------------------------------------------------------------------------------------

function showView(id) {
  VIEWS.forEach((v) => { $(v).hidden = v !== id; });
}

// Draw the view named by ``view``; ``focus`` moves focus to its heading (after a move, not on load).
function render(focus) {
  hideProblem();
  if (view.name === "start") { showView("start-view"); renderStart(); if (focus) $("start-title").focus(); return; }
  if (view.name === "step") { showView("steps-view"); renderSteps(focus); return; }
  if (view.name === "quick") {
    showView("quick-view");
    return whileBusy($("quick-next"), () => askNext(focus));
  }
  // the view before stays until the result arrives; the button that led here shows the wait
  return whileBusy(state.mode === "quick" ? $("quick-result") : $("step-next"), () => loadResult(focus));
}

// The answers this browser holds for its person: in memory, or kept from an earlier visit.
function held() {
  if (own) return own;
  if (state.mode) return state;
  const kept = saved();
  if (!kept || !kept.mode) return null;
  return { mode: kept.mode, answers: onlyItems(kept.answers), skipped: (kept.skipped || []).filter((id) => id in byId) };
}

function sameAnswers(a, b) {
  const keys = Object.keys(a.answers);
  return keys.length === Object.keys(b.answers).length && keys.every((k) => String(a.answers[k]) === String(b.answers[k]))
    && [...a.skipped].sort().join(",") === [...b.skipped].sort().join(",");
}

// A result link this page did not make (opened or pasted: its history entry has no state of ours) with
// answers other than the ones this browser holds is someone else's, say a friend's: it is shown as it
// is, and the person's own answers stay as they were, one click away.
function someoneElses(parsed) {
  if (parsed.name !== "result" || !parsed.has || history.state !== null) return false;
  const mine = held();
  return Boolean(mine) && (Object.keys(mine.answers).length + mine.skipped.length > 0) && !sameAnswers(parsed, mine);
}

function unknownNote(parsed) {
  note(parsed.unknown.length ? "This link has answers to questions this version does not ask ("
    + [...new Set(parsed.unknown)].join(", ") + "); they were left out." : "");
}

// The address changed (Back/Forward, or a link opened): show what it names.
function fromAddress(focus) {
  const parsed = decode(location.hash);
  if (someoneElses(parsed)) {
    const mine = held();
    own = { mode: mine.mode || "steps", answers: { ...mine.answers }, skipped: [...mine.skipped] };
    state = { mode: own.mode, answers: parsed.answers, skipped: parsed.skipped };
    view = { name: "result", step: 0 };
    unknownNote(parsed);
    return render(focus);  // nothing saved: the kept answers are the person's own
  }
  if (own) {  // back from someone else's result to one of this page's own addresses
    state = { mode: own.mode, answers: own.answers, skipped: own.skipped };
    own = null;
  }
  const fresh = !state.mode;
  // within the steps the answers in memory are the newest (Back keeps them); in Quick, Back undoes the
  // last answer, so the address's answers count; a page just opened takes the address's answers
  if ((fresh || state.mode === "quick" || parsed.name === "quick") && (parsed.has || fresh)) {
    state.answers = parsed.answers;
    state.skipped = parsed.skipped;
  }
  if (parsed.name === "quick") state.mode = "quick";
  else if (parsed.name === "step") state.mode = "steps";
  else if (parsed.name === "result" && !state.mode) state.mode = parsed.skipped.length ? "quick" : "steps";
  view = { name: parsed.name, step: parsed.step };
  // the entry is this page's own from now on (see someoneElses)
  if (state.mode) history.replaceState({ ...(history.state || {}), ours: true }, "", encode(view.name, view.step));
  save();
  unknownNote(parsed);
  return render(focus);
}

function note(text) {
  $("note").textContent = text;
  $("note").hidden = !text;
}

function startOver() {
  forget();
  state = { mode: null, answers: {}, skipped: [] };
  document.querySelectorAll("#steps-view input").forEach((input) => { input.checked = false; if (input.type === "text") input.value = ""; });
  go("start");
}

function wire() {
  $("mode-steps").addEventListener("click", () => { state.mode = "steps"; go("step", 0); });
  $("mode-quick").addEventListener("click", () => { state.mode = "quick"; go("quick"); });
  $("resume-go").addEventListener("click", () => {
    const kept = saved();
    state = { mode: kept.mode || "steps", answers: onlyItems(kept.answers),
      skipped: (kept.skipped || []).filter((id) => id in byId) };
    const target = decode(kept.view || "");
    go(target.name === "start" ? (state.mode === "quick" ? "quick" : "step") : target.name, target.step);
  });
  $("resume-result").addEventListener("click", () => {
    const kept = held();
    state = { mode: kept.mode || "steps", answers: kept.answers, skipped: kept.skipped };
    go("result");
  });
  $("visiting-back").addEventListener("click", () => {
    if (busy || !own) return;
    state = { mode: own.mode, answers: own.answers, skipped: own.skipped };
    own = null;
    note("");
    go("result");
  });
  $("visiting-keep").addEventListener("click", () => {
    if (busy || !own) return;
    own = null;
    state.mode = state.skipped.length ? "quick" : "steps";
    history.replaceState({ ...(history.state || {}), ours: true }, "", encode("result"));
    save();
    $("visiting").hidden = true;
    $("again").hidden = $("result-start-over").hidden = false;
    $("result-title").focus();
    offerContribution({}, state.answers, false);
  });
  $("start-over").addEventListener("click", startOver);
  $("result-start-over").addEventListener("click", startOver);
  $("steps-view").addEventListener("change", (event) => readControl(event.target));
  $("steps-view").addEventListener("input", (event) => { if (event.target.type === "text") readControl(event.target); });
  $("steps-view").addEventListener("focusout", (event) => {
    const box = event.target.closest && event.target.closest(".item.number");
    if (!box || event.target.type !== "text") return;
    const item = byId[box.dataset.item];
    const parsed = parseNumber(event.target.value, item);
    if (parsed.error) markError(item, $("steps-view"), parsed.error); else clearError(item, $("steps-view"));
  });
  $("steps-view").addEventListener("submit", (event) => { event.preventDefault(); if (!busy) nextStep(); });
  $("step-back").addEventListener("click", () => { if (!busy) go(view.step ? "step" : "start", view.step - 1); });
  $("step-list").addEventListener("click", (event) => {
    const button = event.target.closest("button.step-link");
    if (button && !busy) go("step", Number(button.dataset.step));
  });
  $("quick-form").addEventListener("submit", (event) => { event.preventDefault(); whileBusy($("quick-next"), quickSubmit); });
  $("quick-back").addEventListener("click", () => { if (!busy) history.back(); });
  $("quick-result").addEventListener("click", () => { if (!busy) go("result"); });
  $("again").addEventListener("click", () => {
    if (state.mode === "quick") go("quick"); else go("step", 0);
  });
  $("print").addEventListener("click", () => window.print());
  $("all-reasons").addEventListener("click", toggleAllReasons);
  $("retry").addEventListener("click", () => { const again = retry; hideProblem(); if (again) again(); });
  window.addEventListener("popstate", () => fromAddress(true));
}

async function loadQuestionnaire() {
  $("loading").textContent = "Loading the questionnaire\u2026";
  let q;
  try {
    const response = await fetch("/api/questionnaire");
    if (!response.ok) throw new Error("error " + response.status);
    q = await response.json();
  } catch (e) {
    $("loading").textContent = "The questionnaire is not loaded.";
    showView("start-view");
    showProblem("The questionnaire could not be loaded, so the questions cannot start yet. Check your connection, "
      + "then try again.", loadQuestionnaire);
    return;
  }
  // The steps are the instrument's groups but the tools questions (issue #26): those are asked in Quick
  // mode, the quiz and the API, where adaptive questioning asks them only when they tell something
  const stepped = q.groups.filter((g) => g.id !== "tools");
  questionnaire = { ...q, groups: stepped };
  byId = Object.create(null);
  q.items.forEach((item) => { byId[item.id] = item; });
  const inSteps = new Set(stepped.map((g) => g.id));
  const questions = units(q.items.filter((i) => inSteps.has(i.group)).map((i) => i.id)).length;
  document.querySelectorAll(".count").forEach((node) => { node.textContent = String(questions); });
  $("all-minutes").textContent = String(Math.round((questions * SECONDS_PER_QUESTION) / 60));
  buildSteps();
  $("loading").textContent = "";
  $("mode-steps").disabled = false;
  $("mode-quick").disabled = false;
  hideProblem();
  await fromAddress(false);
}

wire();
initContributions();
showView("start-view");
loadQuestionnaire();
