"use strict";
// The questionnaire page: builds the form from /api/questionnaire, posts to /api/predict, shows the result.
(function () {
  const sections = document.getElementById("sections");
  const form = document.getElementById("quiz");
  const result = document.getElementById("result");
  const errorBox = document.getElementById("error");
  let items = [];

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderItem(item) {
    if (item.kind === "scale" || item.kind === "binary" || (item.kind === "choice")) {
      const box = el("fieldset", { class: "item", id: "item-" + item.id });
      box.appendChild(el("legend", {}, item.text));
      const scale = el("div", { class: "scale" });
      let options;
      if (item.kind === "scale") options = item.labels.map((label, i) => [String(item.min + i), (item.min + i) + " " + label]);
      else if (item.kind === "binary") options = [["1", "Yes"], ["0", "No"]];
      else options = item.choices.map((c) => [c.id, c.label]);
      options.push(["", "Skip"]);
      options.forEach(([value, label]) => {
        const id = item.id + "-" + (value || "skip");
        const wrap = el("label", { for: id });
        const input = el("input", { type: "radio", name: item.id, id: id, value: value });
        if (value === "") input.checked = true;
        wrap.appendChild(input);
        wrap.appendChild(document.createTextNode(label));
        scale.appendChild(wrap);
      });
      box.appendChild(scale);
      return box;
    }
    const box = el("div", { class: "item", id: "item-" + item.id });
    box.appendChild(el("label", { for: item.id }, item.text + (item.unit ? " (" + item.unit + ")" : "")));
    box.appendChild(el("input", { type: "number", id: item.id, name: item.id, min: item.min, max: item.max,
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
    const names = { swe: "software engineering (SWE)", mle: "machine learning engineering (MLE)" };
    let verdict;
    if (p.verdict === "no-information") verdict = "No answers yet: no information about either role.";
    else if (p.verdict === "clear") verdict = "Clear fit: " + names[p.prediction_set[0]] + ".";
    else if (p.verdict === "leaning") verdict = "Both fit you, leaning toward " + names[p.role] + ".";
    else verdict = "Both fit you: a toss-up between the two.";
    document.getElementById("verdict").textContent = verdict + " (Prediction set: " + p.prediction_set.map((r) => r.toUpperCase()).join(" and ") + ")";
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
    document.getElementById("result-notice").textContent = p.notice;
    form.hidden = true;
    result.hidden = false;
    result.focus();
  }

  form.addEventListener("change", updateProgress);
  form.addEventListener("input", updateProgress);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const response = await fetch("/api/predict", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(answers()) });
    const body = await response.json();
    if (!response.ok) {
      errorBox.textContent = (body.problems || []).map((x) => x.item + ": " + x.problem).join("; ") || body.detail;
      errorBox.hidden = false;
      return;
    }
    showResult(body);
  });
  document.getElementById("again").addEventListener("click", () => { result.hidden = true; form.hidden = false; });

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
    updateProgress();
  });
})();
