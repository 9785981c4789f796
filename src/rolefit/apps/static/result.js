// The result view, in the order people ask: (1) the fit — which role suits you: the bar, the verdict in
// words and the reasons grouped as what you enjoy, what you are good at and what you want, each with how
// strong a reason it is and what backs it; (2) "Where you stand today" per role: the standing against
// people working in it, the gaps and the next steps in order (the fitting role's first, the other's
// offered); (3) both roles' facts with their sources. Everything comes from POST /api/guide.
//
// Words for people, numbers for machines: no odds factors, no model terms, no option or item ids; every
// percentage names the role it is about, and a sentence never mixes the two roles' percentages.
import { el, questionText } from "./items.js";

const $ = (id) => document.getElementById(id);
const SHOWN = 8;  // reasons shown before "Show all reasons"
const NAMES = { swe: "software engineering (SWE)", mle: "machine learning engineering (MLE)" };
const TITLES = { swe: "Software engineering (SWE)", mle: "Machine learning engineering (MLE)" };
const SHORT = { swe: "SWE", mle: "MLE" };
const PEOPLE = { swe: "software engineers", mle: "machine learning engineers" };
const FACT_TOPICS = ["daily_work", "core_skills", "salary", "market"];
// The fit's reasons as people think about themselves (the instrument's groups, preferences with interests).
const REASON_GROUPS = [
  { id: "enjoy", title: "What you enjoy", groups: ["interests", "preferences"] },
  { id: "good", title: "What you are good at", groups: ["skills"] },
  { id: "want", title: "What you want", groups: ["goal"] },
];
// Short names of the real sources, as in "based on 2,911 people ... (Kaggle 2021)".
const SOURCE_NAMES = { kaggle2021: "Kaggle 2021", stackoverflow2017: "Stack Overflow 2017" };
// How strongly one answer points, read as "this answer alone, from an even start": it would move 50% to
// at least 75% (3 to 1: strong), to 60% (the verdict's "leaning": clear), or by at least one point.
const STRONG = Math.log(3), CLEAR = Math.log(0.6 / 0.4), SLIGHT = 0.04;

// A probability as people read it; never "0%" or "100%", which no model can honestly claim.
export function pct(p) {
  if (p < 0.005) return "under 1%";
  if (p > 0.995) return "over 99%";
  return (100 * p).toFixed(0) + "%";
}

// "1 answer", "3 answers": counts agree with their nouns.
export function count(n, noun, plural) {
  return n.toLocaleString("en-US") + " " + (n === 1 ? noun : plural || noun + "s");
}

function capital(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }

// How strong a reason one answer is, in words (and a short form for beside its bar).
export function strength(effect) {
  const size = Math.abs(effect);
  if (size >= STRONG) return ["a strong reason", "strong"];
  if (size >= CLEAR) return ["a clear reason", "clear"];
  if (size >= SLIGHT) return ["a small reason", "small"];
  return ["hardly a reason", "slight"];
}

// What backs a reason, in words: the people it was measured on, or the career guides.
export function evidenceWords(evidence) {
  const share = evidence && typeof evidence.real_share === "number" ? evidence.real_share : null;
  if (evidence && (evidence.basis === "real" || share) && evidence.respondents > 0) {
    const names = Object.keys(evidence.sources || {}).map((s) => SOURCE_NAMES[s] || s.replace(/_/g, " "));
    const people = count(evidence.respondents, "person", "people") + " working as software or machine "
      + "learning engineers" + (names.length ? " (" + names.join(", ") + ")" : "");
    // a pooled effect: part measured on people, the rest what the guides say
    if (share !== null && share < 0.995) return Math.round(100 * share) + "% based on " + people
      + ", the rest what career guides say";
    return "based on " + people;
  }
  return "what career guides say \u2014 not yet measured on people";
}

function reasonRow(e, largest) {
  const side = e.effect < 0 ? "swe" : "mle";
  const [words, short] = strength(e.effect);
  const li = el("li", { class: "reason " + side, "data-item": e.item });
  const chart = el("div", { class: "chart", "aria-hidden": "true" });
  const half = el("div", { class: "half " + side });
  const bar = el("span", { class: "fill " + side });
  bar.style.width = (75 * Math.abs(e.effect) / largest).toFixed(1) + "%";  // room for the word beside the longest
  half.appendChild(bar);
  half.appendChild(el("span", { class: "value" }, short));
  chart.appendChild(side === "swe" ? half : el("div", { class: "half swe" }));
  chart.appendChild(side === "mle" ? half : el("div", { class: "half mle" }));
  li.appendChild(chart);
  li.appendChild(el("p", { class: "text" }, e.reason));
  const backing = el("p", { class: "backing" });
  backing.appendChild(el("span", { class: "strength" }, capital(words)));
  backing.appendChild(document.createTextNode(" \u00b7 "));
  const real = e.evidence && e.evidence.basis === "real";
  backing.appendChild(el("span", { class: "evidence " + (real ? "real" : "assumed") }, evidenceWords(e.evidence)));
  li.appendChild(backing);
  return li;
}

// The reasons in three groups; all but the SHOWN largest (over all groups) wait for "Show all reasons".
function showReasons(p, g, groupOf) {
  const box = $("reasons");
  box.innerHTML = "";
  const all = p.explanations;
  const largest = Math.max(0.001, ...all.map((e) => Math.abs(e.effect)));
  const sentences = {};
  (g.groups || []).forEach((x) => { if (x.sentence) sentences[x.group] = x.sentence; });
  const known = new Set(REASON_GROUPS.flatMap((r) => r.groups));
  const blocks = [...REASON_GROUPS, { id: "other", title: "Your other answers", groups: null }];
  blocks.forEach((block) => {
    const members = all.map((e, rank) => [e, rank])
      .filter(([e]) => (block.groups ? block.groups.includes(groupOf(e.item)) : !known.has(groupOf(e.item))));
    if (!members.length) return;
    const section = el("div", { class: "reason-group", id: "why-" + block.id });
    const title = el("h4", {}, block.title + " ");
    title.appendChild(el("span", { class: "group-count" }, "(" + count(members.length, "answer") + ")"));
    section.appendChild(title);
    const said = (block.groups || []).map((id) => sentences[id]).filter(Boolean);
    if (said.length) {
      const text = said.map((s, i) => (i ? s[0].toLowerCase() + s.slice(1) : s)).join("; ") + ".";
      section.appendChild(el("p", { class: "group-sentence" }, text));
    }
    const list = el("ul", { class: "reasons" });
    members.forEach(([e, rank]) => {
      const row = reasonRow(e, largest);
      if (rank >= SHOWN) { row.hidden = true; row.classList.add("more"); }
      list.appendChild(row);
    });
    section.appendChild(list);
    if (members.every(([, rank]) => rank >= SHOWN)) { section.hidden = true; section.classList.add("more"); }
    box.appendChild(section);
  });
  if (!all.length) {
    box.appendChild(el("p", { class: "empty" }, "You skipped every question about what you enjoy, what you are "
      + "good at and what you want, so this is the starting point for everyone."));
  }
  const more = $("all-reasons");
  more.hidden = all.length <= SHOWN;
  more.setAttribute("aria-expanded", "false");
  more.textContent = "Show all " + all.length + " reasons";
}

export function toggleAllReasons() {
  const more = $("all-reasons");
  const open = more.getAttribute("aria-expanded") !== "true";
  document.querySelectorAll("#reasons .more").forEach((node) => { node.hidden = !open; });
  more.setAttribute("aria-expanded", String(open));
  const total = document.querySelectorAll("#reasons li").length;
  more.textContent = open ? "Show the top " + SHOWN + " only" : "Show all " + total + " reasons";
}

// The starting point and where the answers moved it, both in the frame of the fitting role.
function showBaseline(p, g) {
  const start = g.start_probabilities || { swe: 0.5, mle: 0.5 };
  const even = Math.abs(start.mle - 0.5) < 1e-9;
  const line = $("baseline");
  line.hidden = false;
  if (p.verdict === "no-information") {
    line.textContent = "Starting point, before your answers: " + (even ? "50% each, an even start."
      : pct(start[p.role]) + " " + SHORT[p.role] + ", the mix in your population.");
    return;
  }
  line.textContent = "Starting point, before your answers: " + pct(start[p.role]) + " " + SHORT[p.role] + ", "
    + (even ? "an even start" : "the mix in your population") + ". Your answers moved it to "
    + pct(p.probabilities[p.role]) + " " + SHORT[p.role] + ".";
}

// The all-answers model, as a secondary line: where people who answer like this work today.
function showAllAnswers(p) {
  const line = $("all-answers");
  const a = p.all_answers;
  line.hidden = !a || p.verdict === "no-information" || a.verdict === "no-information";
  if (line.hidden) return;
  line.textContent = "People whose answers are like all of yours, experience included: " + pct(a.probabilities[a.role])
    + " of them work as " + PEOPLE[a.role] + ". That says where people like you work today, not which role suits you.";
}

// ---- where you stand today ----------------------------------------------------------------------

function stepsOf(g, role) {
  const steps = g.next_steps && g.next_steps.roles ? g.next_steps.roles[role] : null;
  return Array.isArray(steps) ? steps : null;
}

function sourceNode(source) {
  const name = source.name + (source.year ? ", " + source.year : "");
  if (!source.url || !/^https?:\/\//.test(source.url)) return el("span", { class: "source" }, "(" + name + ")");
  const span = el("span", { class: "source" }, "(");
  span.appendChild(el("a", { href: source.url, rel: "noopener noreferrer" }, name));
  span.appendChild(document.createTextNode(")"));
  return span;
}

// One gap: its share in words, then whom it was measured on ("(1,837 software engineers, Kaggle ML & DS
// Survey 2021)"). The server's sentence names the population first; it is kept whole if it reads otherwise.
function gapRow(gap, role) {
  const li = el("li", { "data-item": gap.item });
  const match = /^Among .+? working as [^,]+, (.+)$/.exec(gap.text);
  li.appendChild(document.createTextNode((match ? capital(match[1]) : gap.text).replace(/\.$/, "") + " "));
  li.appendChild(el("span", { class: "source" }, "(" + count(gap.n, PEOPLE[role].replace(/s$/, ""), PEOPLE[role])
    + ", " + gap.source_name + ")"));
  li.appendChild(document.createTextNode("."));
  return li;
}

function roleStanding(role, standing, steps, best) {
  const box = el("div", { class: "role-standing", id: "standing-" + role });
  const heading = el("h3", {}, "Toward " + NAMES[role] + (best ? ", your best fit" : ""));
  box.appendChild(heading);
  const compared = standing ? standing.items.length : 0;
  const gaps = standing ? standing.gaps : [];
  if (gaps.length) {
    box.appendChild(el("p", { class: "standing-summary" }, "Most " + PEOPLE[role] + " are ahead of you on "
      + (gaps.length === compared ? (compared === 1 ? "the 1 answer compared:" : "all " + compared + " answers compared:")
        : gaps.length + " of the " + count(compared, "answer") + " compared:")));
    const list = el("ul", { class: "gaps", id: "gaps-" + role });
    gaps.forEach((gap) => list.appendChild(gapRow(gap, role)));
    box.appendChild(list);
  } else {
    box.appendChild(el("p", { class: "standing-summary" }, standing ? standing.summary : ""));
  }
  if (steps) {
    box.appendChild(el("h4", {}, "Next steps, in order"));
    if (!steps.length) {
      box.appendChild(el("p", { class: "notice" }, "Nothing to suggest from your answers yet: answer the questions "
        + "about your experience to see your steps."));
    } else {
      const list = el("ol", { class: "steps", id: "steps-" + role });
      steps.forEach((s) => {
        const li = el("li", { "data-item": s.item || "" });
        li.appendChild(el("strong", {}, s.action.replace(/\.?$/, ".")));
        li.appendChild(document.createTextNode(" " + s.why.replace(/\.?$/, ".") + " "));
        if (s.source && s.source.name && !s.why.includes(s.source.name)) li.appendChild(sourceNode(s.source));
        list.appendChild(li);
      });
      box.appendChild(list);
    }
  }
  return box;
}

function showStanding(p, g) {
  const r = p.readiness;
  $("standing").hidden = !r;
  const box = $("standing-roles");
  box.innerHTML = "";
  const plan = $("plan");
  plan.hidden = true;
  if (!r) return;
  $("standing-intro").textContent = "Compared with people working in each role today (" + r.population + "). "
    + "This does not change which role suits you: experience is how far along the path you are, not where it leads.";
  const first = (g.next_steps && g.next_steps.first) || p.role;
  const other = first === "swe" ? "mle" : "swe";
  const known = p.verdict !== "no-information" && !g.answers_needed;
  box.appendChild(roleStanding(first, r.roles[first], stepsOf(g, first), known && first === p.role));
  const more = el("details", { class: "other-role", id: "other-role" });
  more.appendChild(el("summary", {}, "Toward " + NAMES[other] + " instead: where you stand and the steps"));
  more.appendChild(roleStanding(other, r.roles[other], stepsOf(g, other), false));
  box.appendChild(more);
  if (g.next_steps && g.next_steps.plan) {
    plan.textContent = g.next_steps.plan.replace(/\.?$/, ". ");
    if (g.next_steps.plan_source && g.next_steps.plan_source.name) plan.appendChild(sourceNode(g.next_steps.plan_source));
    plan.hidden = false;
  }
}

// ---- the roles' facts and common mistakes --------------------------------------------------------

function sources(list) {
  return "(source" + (list.length > 1 ? "s" : "") + ": "
    + list.map((s) => (s.title ? "\u201c" + s.title + "\u201d" : "an untitled " + s.kind) + ", " + s.year).join("; ") + ")";
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
    const dd = el("dd", {}, capital(text) + " ");
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

// Draw the result of POST /api/guide; ``groupOf`` gives an item's group in the questionnaire.
export function showResult(p, groupOf) {
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
  showBaseline(p, g);
  showReasons(p, g, groupOf);
  showAllAnswers(p);
  showStanding(p, g);
  showMistakes(g);
  showFacts(g);
  showNextQuestions(null);
  $("result-notice").textContent = p.notice;
}
