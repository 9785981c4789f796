"use strict";
// The questionnaire page: Quick (one question at a time from /api/next-questions, until settled) or All
// questions (the form built from /api/questionnaire); the result and its guidance come from /api/guide.
(function () {
  const $ = (id) => document.getElementById(id);
  const sections = $("sections");
  const form = $("quiz");
  const result = $("result");
  const errorBox = $("error");
  let items = [];
  let mode = null;  // "quick" or "all"
  const quick = { answers: {}, skipped: [], count: 0, item: null };

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderItem(item, prefix, legend) {
    prefix = prefix || "";
    if (item.kind === "scale" || item.kind === "binary" || (item.kind === "choice")) {
      const box = el("fieldset", { class: "item", id: "item-" + item.id });
      box.appendChild(el("legend", {}, legend || item.text));
      const scale = el("div", { class: "scale" });
      let options;
      if (item.kind === "scale") options = item.labels.map((label, i) => [String(item.min + i), (item.min + i) + " " + label]);
      else if (item.kind === "binary") options = [["1", "Yes"], ["0", "No"]];
      else options = item.choices.map((c) => [c.id, c.label]);
      options.push(["", "Skip"]);
      options.forEach(([value, label]) => {
        const id = prefix + item.id + "-" + (value || "skip");
        const wrap = el("label", { for: id });
        const input = el("input", { type: "radio", name: prefix + item.id, id: id, value: value });
        if (value === "") input.checked = true;
        wrap.appendChild(input);
        wrap.appendChild(document.createTextNode(label));
        scale.appendChild(wrap);
      });
      box.appendChild(scale);
      return box;
    }
    const box = el("div", { class: "item", id: "item-" + item.id });
    box.appendChild(el("label", { for: prefix + item.id }, (legend || item.text) + (item.unit ? " (" + item.unit + ")" : "")));
    box.appendChild(el("input", { type: "number", id: prefix + item.id, name: prefix + item.id, min: item.min, max: item.max,
      step: item.kind === "count" ? "1" : "0.5", inputmode: "decimal", placeholder: "skip" }));
    return box;
  }

  function answers() {
    const data = {};
    const fd = new FormData(form);
    items.forEach((item) => {
      const value = fd.get(item.id);
      if (value === null || value === "") return;
      data[item.id] = item.kind === "choice" ? value : Number(value);
    });
    return data;
  }

  function updateProgress() {
    const answered = Object.keys(answers()).length;
    document.getElementById("answered").textContent = answered;
    const bar = document.getElementById("progress");
    bar.value = answered;
    bar.max = items.length;
  }

  function pct(p) { return (100 * p).toFixed(0) + "%"; }

  // The starting point: a share like 0.38 -> "38%", 0.025 -> "2.5%" (no more digits than it needs).
  function share(p) { return String(Number((100 * p).toPrecision(4))) + "%"; }

  // A short badge for what backs a reason: real respondents, or the synthetic prior (assumed).
  function evidenceBadge(evidence) {
    const real = evidence && evidence.basis === "real";
    const text = real ? "real data · " + Number(evidence.respondents).toLocaleString("en-US") + " people" : "assumed";
    const summary = (evidence && evidence.summary) || "from the synthetic prior (assumed, not yet measured on real people)";
    const badge = el("span", { class: "evidence " + (real ? "real" : "assumed"), title: summary }, text);
    badge.appendChild(el("span", { class: "visually-hidden" }, " (" + summary + ")"));
    return badge;
  }

  function showResult(p) {
    const swe = p.probabilities.swe, mle = p.probabilities.mle;
    document.getElementById("bar-swe").style.width = pct(swe);
    document.getElementById("bar-mle").style.width = pct(mle);
    document.getElementById("prob-bar").setAttribute("aria-label", "SWE " + pct(swe) + ", MLE " + pct(mle));
    document.getElementById("p-swe").textContent = pct(swe);
    document.getElementById("p-mle").textContent = pct(mle);
    const g = p.guidance;
    const names = { swe: "software engineering (SWE)", mle: "machine learning engineering (MLE)" };
    let verdict;
    if (p.verdict === "no-information") verdict = "No answers yet: no information about either role.";
    else if (g.answers_needed) verdict = "Best fit so far: " + names[p.role] + ".";
    else verdict = "Best fit: " + names[p.role] + ".";
    $("verdict").textContent = verdict;
    $("certainty").textContent = "How sure: " + g.certainty;
    $("summary").textContent = g.summary;
    $("summary").hidden = !g.summary;
    const baseline = document.getElementById("baseline");
    baseline.hidden = typeof p.base_rate !== "number";
    if (!baseline.hidden) {
      baseline.textContent = "Before your answers: " + share(p.base_rate) + " MLE (the reference survey's mix of SWE and MLE respondents)."
        + (p.verdict === "no-information" ? "" : " Your answers moved it to " + pct(mle) + " MLE.");
    }
    const list = document.getElementById("reasons");
    list.innerHTML = "";
    const top = p.explanations.slice(0, 8);
    const largest = Math.max(0.001, ...top.map((e) => Math.abs(e.effect)));
    top.forEach((e) => {
      const li = el("li", { class: "reason " + e.toward });
      const track = el("div", { class: "track", "aria-hidden": "true" });
      const left = el("div", {}), right = el("div", {});
      const width = (100 * Math.abs(e.effect) / largest).toFixed(0) + "%";
      if (e.effect < 0) { const b = el("span", { class: "neg" }); b.style.width = width; b.style.display = "block"; left.appendChild(b); }
      else { const b = el("span", { class: "pos" }); b.style.width = width; b.style.display = "block"; right.appendChild(b); }
      track.appendChild(left); track.appendChild(right);
      li.appendChild(track);
      const text = el("span", { class: "text" }, e.reason + " ");
      text.appendChild(evidenceBadge(e.evidence));
      li.appendChild(text);
      list.appendChild(li);
    });
    if (!top.length) list.appendChild(el("li", { class: "empty" }, "You skipped every question, so this is the starting point for everyone."));
    document.getElementById("evidence-key").hidden = !top.length;
    showSteps(g);
    showMistakes(g);
    showFacts(g);
    showNextQuestions(g.answers_needed);
    document.getElementById("result-notice").textContent = p.notice;
    form.hidden = true;
    $("quick").hidden = true;
    $("mode").hidden = true;
    result.hidden = false;
    result.focus();
  }

  function points(delta) { return "+" + (100 * delta).toFixed(1) + " points"; }

  function sources(list) {
    return "(source" + (list.length > 1 ? "s" : "") + ": "
      + list.map((s) => (s.title ? "\u201c" + s.title + "\u201d" : "an untitled " + s.kind) + ", " + s.year).join("; ") + ")";
  }

  function showSteps(g) {
    const box = $("steps-lists");
    box.innerHTML = "";
    const order = [g.role, g.role === "swe" ? "mle" : "swe"];
    order.forEach((role) => {
      const steps = g.next_steps[role] || [];
      if (!steps.length) return;
      box.appendChild(el("h4", {}, "Toward " + role.toUpperCase() + (role === g.role && !g.answers_needed ? " (your best fit)" : "")));
      const list = el("ul", { class: "steps", id: "steps-" + role });
      steps.slice(0, 3).forEach((s) => list.appendChild(el("li", {}, points(s.delta_p) + " \u2014 " + s.action)));
      box.appendChild(list);
    });
    const goals = order.map((role) => (g.goal_steps[role] || [])[0]).filter(Boolean);
    if (goals.length) {
      box.appendChild(el("h4", {}, "Or a different goal (a bigger decision than learning something)"));
      const list = el("ul", { class: "steps", id: "steps-goal" });
      goals.forEach((s) => list.appendChild(el("li", {}, points(s.delta_p) + " \u2014 " + s.action + " (toward " + s.role.toUpperCase() + ")")));
      box.appendChild(list);
    }
    $("steps").hidden = !box.children.length;
  }

  function showMistakes(g) {
    const list = $("mistakes-list");
    list.innerHTML = "";
    g.mistakes.forEach((m) => list.appendChild(el("li", {}, m.text + " " + sources(m.sources))));
    $("mistakes").hidden = !g.mistakes.length;
  }

  const FACT_TOPICS = ["daily_work", "core_skills", "salary", "market"];

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
    box.appendChild(el("h3", {}, g.answers_needed ? "What the two roles involve" : "About " + first.name.toLowerCase()));
    box.appendChild(el("p", { class: "notice" }, first.notice));
    if (g.answers_needed) box.appendChild(el("h4", {}, first.name));
    box.appendChild(factBlock(first));
    others.forEach((role) => {
      const more = el("details", {});
      more.appendChild(el("summary", {}, "About " + role.name.toLowerCase()));
      more.appendChild(factBlock(role));
      box.appendChild(more);
    });
  }

  async function showNextQuestions(needed) {
    const box = $("ask-next");
    box.hidden = true;
    if (!needed) return;
    const response = await post("/api/next-questions?k=3", current());
    if (!response.ok) return;
    const list = $("ask-next-list");
    list.innerHTML = "";
    (await response.json()).questions.forEach((q) => list.appendChild(el("li", {}, questionText(q.question, q.prompt))));
    box.hidden = !list.children.length;
  }

  // A question as a person reads it: "Python" under "How would you rate your skill in ..." becomes
  // "How would you rate your skill in Python?" (as rolefit.apps.guidance_text.question_text).
  function questionText(text, prompt) {
    if (text.endsWith("?")) return text;
    if (prompt.endsWith("...")) {
      const first = text.split(" ")[0];
      const keep = first === "Python" || /[A-Z]/.test(first.slice(1));
      return prompt.slice(0, -3).trim() + " " + (keep ? text : text[0].toLowerCase() + text.slice(1)) + "?";
    }
    return prompt ? text + " (" + prompt[0].toLowerCase() + prompt.slice(1) + ")" : text;
  }

  function post(url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  function current() { return mode === "quick" ? quick.answers : answers(); }

  async function guide(box) {
    box.hidden = true;
    const response = await post("/api/guide", current());
    const body = await response.json();
    if (!response.ok) {
      box.textContent = (body.problems || []).map((x) => x.item + ": " + x.problem).join("; ") || body.detail;
      box.hidden = false;
      return;
    }
    showResult(body);
  }

  // Quick: ask the best next question until settled; the person may go on or see the result any time.
  async function nextQuick() {
    const query = "/api/next-questions?k=1" + quick.skipped.map((id) => "&skipped=" + encodeURIComponent(id)).join("");
    const response = await post(query, quick.answers);
    const body = await response.json();
    if (!response.ok) {
      $("quick-error").textContent = (body.problems || []).map((x) => x.item + ": " + x.problem).join("; ") || body.detail;
      $("quick-error").hidden = false;
      return;
    }
    const answered = Object.keys(quick.answers).length;
    $("quick-settled").hidden = !body.settled.settled || !answered;
    const next = body.questions[0];
    $("quick-done").hidden = Boolean(next);
    $("quick-form").hidden = !next;
    $("quick-progress").textContent = "Answered " + answered + (quick.skipped.length ? ", skipped " + quick.skipped.length : "")
      + " of " + items.length + " questions.";
    const box = $("quick-item");
    box.innerHTML = "";
    quick.item = null;
    if (!next) { $("quick-result").focus(); return; }
    quick.count += 1;
    quick.item = items.find((i) => i.id === next.item);
    box.appendChild(renderItem(quick.item, "q-", quick.count + ". " + questionText(next.question, next.prompt)));
    const first = box.querySelector("input");
    if (first) first.focus();
  }

  function quickAnswer() {
    const value = new FormData($("quick-form")).get("q-" + quick.item.id);
    if (value === null || value === "") return null;
    return quick.item.kind === "choice" ? value : Number(value);
  }

  form.addEventListener("change", updateProgress);
  form.addEventListener("input", updateProgress);
  form.addEventListener("submit", (event) => { event.preventDefault(); guide(errorBox); });
  $("again").addEventListener("click", () => {
    result.hidden = true;
    if (mode === "quick") { $("quick").hidden = false; } else { form.hidden = false; }
  });
  $("mode-all").addEventListener("click", () => { mode = "all"; $("mode").hidden = true; form.hidden = false; form.querySelector("input").focus(); });
  $("mode-quick").addEventListener("click", () => { mode = "quick"; $("mode").hidden = true; $("quick").hidden = false; nextQuick(); });
  $("quick-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!quick.item) return;
    const value = quickAnswer();
    if (value === null) quick.skipped.push(quick.item.id); else quick.answers[quick.item.id] = value;
    nextQuick();
  });
  $("quick-skip").addEventListener("click", () => { if (quick.item) { quick.skipped.push(quick.item.id); nextQuick(); } });
  $("quick-result").addEventListener("click", () => guide($("quick-error")));

  fetch("/api/questionnaire").then((r) => r.json()).then((q) => {
    items = q.items;
    sections.innerHTML = "";
    q.groups.forEach((group) => {
      const box = el("fieldset", { class: "section", id: "section-" + group.id });
      box.appendChild(el("legend", {}, group.title + " — " + group.prompt));
      q.items.filter((i) => i.group === group.id).forEach((i) => box.appendChild(renderItem(i)));
      sections.appendChild(box);
    });
    document.getElementById("total").textContent = items.length;
    $("all-count").textContent = items.length;
    updateProgress();
  });
})();
