// The result view: probabilities, verdict in words, the starting point and each group's share, a chart of
// every answer's effect (centre line, values, colours that differ in lightness as well as hue), what
// would move the fit, and both roles' facts with their sources. Everything comes from POST /api/guide.
import { el, questionText } from "./items.js";

const $ = (id) => document.getElementById(id);
const SHOWN = 8;  // reasons shown before "Show all reasons"
const NAMES = { swe: "software engineering (SWE)", mle: "machine learning engineering (MLE)" };
const FACT_TOPICS = ["daily_work", "core_skills", "salary", "market"];

// A probability as people read it; never "0%" or "100%", which no model can honestly claim.
function pct(p) {
  if (p < 0.005) return "under 1%";
  if (p > 0.995) return "over 99%";
  return (100 * p).toFixed(0) + "%";
}

// How much an answer multiplies the odds toward the side it pushes: effect -0.74 -> "×2.1".
function oddsFactor(effect) {
  const factor = Math.exp(Math.abs(effect));
  return "\u00d7" + (factor < 10 ? factor.toFixed(factor < 1.095 ? 2 : 1) : factor.toFixed(0));
}

// A short badge for what backs a reason: real respondents, or the synthetic prior (assumed).
function evidenceBadge(evidence) {
  const real = evidence && evidence.basis === "real";
  const text = real ? "real data · " + Number(evidence.respondents).toLocaleString("en-US") + " people" : "assumed";
  const summary = (evidence && evidence.summary) || "from the synthetic prior (assumed, not yet measured on real people)";
  const badge = el("span", { class: "evidence " + (real ? "real" : "assumed"), title: summary }, text);
  badge.appendChild(el("span", { class: "visually-hidden" }, " (" + summary + ")"));
  return badge;
}

function reasonRow(e, largest) {
  const side = e.effect < 0 ? "swe" : "mle";
  const li = el("li", { class: "reason " + side });
  const chart = el("div", { class: "chart", "aria-hidden": "true" });
  const half = el("div", { class: "half " + side });
  const bar = el("span", { class: "fill " + side });
  bar.style.width = (80 * Math.abs(e.effect) / largest).toFixed(1) + "%";  // room for the value beside the longest
  half.appendChild(bar);
  half.appendChild(el("span", { class: "value" }, oddsFactor(e.effect)));
  chart.appendChild(side === "swe" ? half : el("div", { class: "half swe" }));
  chart.appendChild(side === "mle" ? half : el("div", { class: "half mle" }));
  li.appendChild(chart);
  const text = el("p", { class: "text" }, e.reason + " ");
  text.appendChild(el("span", { class: "visually-hidden" },
    "(multiplies the odds of " + side.toUpperCase() + " by " + oddsFactor(e.effect).slice(1) + ") "));
  text.appendChild(evidenceBadge(e.evidence));
  li.appendChild(text);
  return li;
}

function showReasons(p) {
  const list = $("reasons");
  list.innerHTML = "";
  const all = p.explanations;
  const largest = Math.max(0.001, ...all.map((e) => Math.abs(e.effect)));
  all.forEach((e, i) => {
    const row = reasonRow(e, largest);
    if (i >= SHOWN) { row.hidden = true; row.classList.add("more"); }
    list.appendChild(row);
  });
  if (!all.length) list.appendChild(el("li", { class: "empty" }, "You skipped every question, so this is the starting point for everyone."));
  const more = $("all-reasons");
  more.hidden = all.length <= SHOWN;
  more.setAttribute("aria-expanded", "false");
  more.textContent = "Show all " + all.length + " reasons";
  $("reasons-key").hidden = !all.length;
  $("evidence-key").hidden = !all.length;
}

export function toggleAllReasons() {
  const more = $("all-reasons");
  const open = more.getAttribute("aria-expanded") !== "true";
  document.querySelectorAll("#reasons li.more").forEach((li) => { li.hidden = !open; });
  more.setAttribute("aria-expanded", String(open));
  const count = document.querySelectorAll("#reasons li").length;
  more.textContent = open ? "Show the top " + SHOWN + " only" : "Show all " + count + " reasons";
}

function signed(x) { return (x >= 0 ? "+" : "\u2212") + Math.abs(x).toFixed(2); }

// The starting point and each group's share of the log-odds: they add up to the result.
function showGroups(p, g) {
  const baseline = $("baseline");
  baseline.hidden = false;
  baseline.textContent = "Starting point, " + g.starting_point + "."
    + (p.verdict === "no-information" ? "" : " Your answers moved it to " + pct(p.probabilities.mle) + " MLE:");
  const box = $("groups");
  box.innerHTML = "";
  const answered = g.groups.filter((x) => x.answered);
  if (!answered.length) return;
  const list = el("ul", { class: "group-list" });
  answered.forEach((x) => {
    const li = el("li", { class: "group " + x.toward, id: "group-" + x.group });
    li.appendChild(el("span", { class: "group-name" }, x.sentence));
    li.appendChild(el("span", { class: "group-value" },
      " (" + x.answered + " answer" + (x.answered === 1 ? "" : "s") + ", " + signed(x.subtotal) + " log-odds)"));
    list.appendChild(li);
  });
  box.appendChild(list);
}

function sources(list) {
  return "(source" + (list.length > 1 ? "s" : "") + ": "
    + list.map((s) => (s.title ? "\u201c" + s.title + "\u201d" : "an untitled " + s.kind) + ", " + s.year).join("; ") + ")";
}

function showSteps(g) {
  const box = $("steps-lists");
  box.innerHTML = "";
  const next = g.next_steps;
  const order = [next.first, next.first === "swe" ? "mle" : "swe"];
  order.forEach((role) => {
    const steps = next.roles[role] || [];
    if (!steps.length) return;
    const fitting = role === next.first && !g.answers_needed ? " (your best fit)" : "";
    box.appendChild(el("h3", {}, "Toward " + role.toUpperCase() + fitting));
    const list = el("ol", { class: "steps", id: "steps-" + role });
    steps.slice(0, 3).forEach((s) => list.appendChild(el("li", {}, s.action + " \u2014 " + s.why)));
    box.appendChild(list);
  });
  if (box.children.length) box.appendChild(el("p", {}, next.plan));
  $("next-steps").hidden = !box.children.length;
}

function showMistakes(g) {
  const list = $("mistakes-list");
  list.innerHTML = "";
  g.mistakes.forEach((m) => list.appendChild(el("li", {}, m.text + " " + sources(m.sources))));
  $("mistakes").hidden = !g.mistakes.length;
}

function factBlock(role) {
  const list = el("dl", { class: "facts", id: "facts-" + role.role });
  FACT_TOPICS.map((topic) => role.facts.find((f) => f.topic === topic)).filter(Boolean).forEach((f) => {
    const lines = f.topic === "market" ? f.lines.filter((l) => /^outlook/i.test(l)) : f.lines;
    const text = lines.map((l) => l.replace(/^Outlook: /, "")).join("; ");
    list.appendChild(el("dt", {}, f.topic === "market" ? "Outlook" : f.heading));
    const dd = el("dd", {}, (text ? text[0].toUpperCase() + text.slice(1) : "") + " ");
    dd.appendChild(el("span", { class: "source" }, sources(f.sources)));
    list.appendChild(dd);
  });
  return list;
}

function showFacts(g) {
  const box = $("facts");
  box.innerHTML = "";
  if (!g.facts.length) return;
  const [first, ...others] = g.facts;
  box.appendChild(el("h2", {}, g.answers_needed ? "What the two roles involve" : "About " + first.name.toLowerCase()));
  box.appendChild(el("p", { class: "notice" }, first.notice));
  if (g.answers_needed) box.appendChild(el("h3", {}, first.name));
  box.appendChild(factBlock(first));
  others.forEach((role) => {
    const more = el("details", {});
    more.appendChild(el("summary", {}, "About " + role.name.toLowerCase()));
    more.appendChild(factBlock(role));
    box.appendChild(more);
  });
}

// The questions that would tell most next, when the answers are too few for a verdict.
export function showNextQuestions(body) {
  const list = $("ask-next-list");
  list.innerHTML = "";
  (body ? body.questions : []).forEach((q) => list.appendChild(el("li", {}, questionText(q.question, q.prompt))));
  $("ask-next").hidden = !list.children.length;
}

export function showResult(p) {
  const swe = p.probabilities.swe, mle = p.probabilities.mle;
  $("bar-swe").style.width = (100 * swe).toFixed(1) + "%";
  $("bar-mle").style.width = (100 * mle).toFixed(1) + "%";
  $("prob-bar").setAttribute("aria-label", "SWE " + pct(swe) + ", MLE " + pct(mle));
  $("p-swe").textContent = pct(swe);
  $("p-mle").textContent = pct(mle);
  const g = p.guidance;
  let verdict;
  if (p.verdict === "no-information") verdict = "No answers yet: no information about either role.";
  else if (g.answers_needed) verdict = "Best fit so far: " + NAMES[p.role] + ".";
  else verdict = "Best fit: " + NAMES[p.role] + ".";
  $("verdict").textContent = verdict;
  $("certainty").textContent = "How sure: " + g.certainty;
  $("summary").textContent = g.summary;
  $("summary").hidden = !g.summary;
  showGroups(p, g);
  showReasons(p);
  showSteps(g);
  showMistakes(g);
  showFacts(g);
  showNextQuestions(null);
  $("result-notice").textContent = p.notice;
}
