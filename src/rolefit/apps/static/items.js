// One question on the page: its controls, reading and setting its answer, and its error in place.
// Choice-like items (1-5 scales, yes/no, choices) are radio groups drawn as chips; nothing is pre-checked,
// and "Skip" is a separate chip that reads as a decision, not an answer. Numbers are text boxes that accept
// what people type ("1,5", "1.5", " 2 ") and say in place what is wrong with anything else.

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function isChoiceLike(item) {
  return item.kind === "scale" || item.kind === "binary" || item.kind === "choice";
}

function options(item) {
  if (item.kind === "scale") return item.labels.map((label, i) => [String(item.min + i), String(item.min + i), label]);
  if (item.kind === "binary") return [["1", "Yes", ""], ["0", "No", ""]];
  return item.choices.map((c) => [c.id, c.label, ""]);
}

// The hint under a number box: what is allowed, in words.
export function numberHint(item) {
  const whole = item.kind === "count";
  return (whole ? "A whole number" : "A number") + " from " + item.min + " to " + item.max
    + (item.unit ? " (" + item.unit + ")" : "") + (whole ? ", like 2." : ", like 2 or 1.5.") + " Leave it empty to skip.";
}

// Draw one question. ``prefix`` keeps ids unique when the same item is drawn twice (quick mode).
export function renderItem(item, number, prefix) {
  prefix = prefix || "";
  const id = prefix + item.id;
  if (isChoiceLike(item)) {
    const box = el("fieldset", { class: "item", id: "item-" + id, "data-item": item.id, "aria-describedby": id + "-error" });
    const legend = el("legend", {});
    if (number) legend.appendChild(el("span", { class: "qnum" }, number + ". "));
    legend.appendChild(document.createTextNode(item.text));
    box.appendChild(legend);
    const row = el("div", { class: "options " + item.kind });
    options(item).forEach(([value, main, sub]) => {
      const label = el("label", { class: "opt", for: id + "-" + value });
      label.appendChild(el("input", { type: "radio", name: id, id: id + "-" + value, value: value }));
      label.appendChild(el("span", { class: "main" }, main));
      if (sub) label.appendChild(el("span", { class: "sub" }, sub));
      row.appendChild(label);
    });
    box.appendChild(row);
    const skip = el("label", { class: "opt skip", for: id + "-skip" });
    skip.appendChild(el("input", { type: "radio", name: id, id: id + "-skip", value: "", "data-skip": "1" }));
    skip.appendChild(el("span", { class: "main" }, "Skip this question"));
    const skipRow = el("div", { class: "skip-row" });
    skipRow.appendChild(skip);
    box.appendChild(skipRow);
    box.appendChild(el("p", { class: "field-error", id: id + "-error", hidden: "" }));
    return box;
  }
  const box = el("div", { class: "item number", id: "item-" + id, "data-item": item.id });
  const label = el("label", { for: id });
  if (number) label.appendChild(el("span", { class: "qnum" }, number + ". "));
  label.appendChild(document.createTextNode(item.text));
  box.appendChild(label);
  box.appendChild(el("p", { class: "hint", id: id + "-hint" }, numberHint(item)));
  box.appendChild(el("input", { type: "text", inputmode: "decimal", id: id, name: id, autocomplete: "off",
    "aria-describedby": id + "-hint " + id + "-error", size: "6" }));
  box.appendChild(el("p", { class: "field-error", id: id + "-error", hidden: "" }));
  return box;
}

// Draw a multi-choice question (issue #26): one checkbox per option (each option a yes/no item) and
// "None of these". Ticking anything answers the whole question: ticked options are 1, the others 0;
// nothing ticked leaves the question unanswered (every option skipped).
export function renderQuestion(question, items, number, prefix) {
  prefix = prefix || "";
  const box = el("fieldset", { class: "item question", id: "item-" + prefix + question.id, "data-question": question.id,
    "aria-describedby": prefix + question.id + "-error" });
  const legend = el("legend", {});
  if (number) legend.appendChild(el("span", { class: "qnum" }, number + ". "));
  legend.appendChild(document.createTextNode(question.text));
  box.appendChild(legend);
  box.appendChild(el("p", { class: "hint" }, "Tick every one that applies, or \u201cNone of these\u201d. Leave all unticked to skip."));
  const row = el("div", { class: "options multi" });
  items.forEach((item) => {
    const id = prefix + item.id;
    const label = el("label", { class: "opt", for: id, "data-item": item.id });
    label.appendChild(el("input", { type: "checkbox", name: id, id: id, value: "1" }));
    label.appendChild(el("span", { class: "main" }, item.text));
    row.appendChild(label);
  });
  const none = el("label", { class: "opt none", for: prefix + question.id + "-none", "data-item": items[0].id });
  none.appendChild(el("input", { type: "checkbox", id: prefix + question.id + "-none", value: "", "data-none": "1" }));
  none.appendChild(el("span", { class: "main" }, "None of these"));
  row.appendChild(none);
  box.appendChild(row);
  box.appendChild(el("p", { class: "field-error", id: prefix + question.id + "-error", hidden: "" }));
  return box;
}

// After a tick in a multi-choice question: "None of these" and the options exclude each other.
export function tickQuestion(target) {
  const box = target.closest("[data-question]");
  if (!box || !target.checked) return;
  const none = target.dataset.none === "1";
  box.querySelectorAll("input[type=checkbox]").forEach((input) => {
    if (input !== target && (none || input.dataset.none === "1")) input.checked = false;
  });
}

// Digits of the longest number the page reads: every number of at most 15 digits is held exactly by a
// JavaScript number (and is finite, and far within Number.MAX_SAFE_INTEGER); longer ones may not be.
export const MAX_DIGITS = 15;

// Whether ``text`` is a plain decimal number ("-12", "1.5") a JavaScript number holds exactly.
export function exactNumber(text) {
  return /^-?\d+(\.\d+)?$/.test(text) && text.replace(/\D/g, "").length <= MAX_DIGITS;
}

// What an item allows, in the server's words (the answers' problems read "got ...; allowed: ...").
export function allowedWords(item) {
  if (item.kind === "scale") return "an integer from " + item.min + " to " + item.max;
  if (item.kind === "binary") return "0 or 1 (also yes/no, true/false)";
  if (item.kind === "count") return "a whole number from " + item.min + " to " + item.max;
  if (item.kind === "choice") return "one of " + item.choices.map((c) => c.id).join(", ");
  return "a number from " + item.min + " to " + item.max + (item.unit ? " (" + item.unit + ")" : "");
}

// What a person typed in a number box: {value} (a number, or null when empty) or {error} in words.
export function parseNumber(text, item) {
  const raw = String(text).trim();
  if (raw === "") return { value: null };
  // one decimal comma is a decimal point ("1,5"); anything else that is not plain digits is refused
  const normal = /^\d+,\d+$/.test(raw) ? raw.replace(",", ".") : raw;
  if (!/^(\d+\.?\d*|\.\d+)$/.test(normal)) {
    return { error: "\u201c" + raw + "\u201d is not a number. " + numberHint(item).replace(" Leave it empty to skip.", "") };
  }
  const digits = normal.replace(/\D/g, "").length;
  if (digits > MAX_DIGITS) {
    return { error: "This number has " + digits + " digits: more than the page reads (" + MAX_DIGITS + "). " + numberHint(item) };
  }
  const value = Number(normal);
  const whole = item.kind === "count";
  if (whole && !Number.isInteger(value)) return { error: raw + " is not a whole number. " + numberHint(item) };
  if (value < item.min || value > item.max) {
    return { error: raw + " is " + (value > item.max ? "more than " + item.max : "less than " + item.min) + ". "
      + numberHint(item) };
  }
  return { value: value };
}

// The answer shown by an item's controls: a value, "" when skipped, or undefined when untouched.
export function readItem(item, root, prefix) {
  const id = (prefix || "") + item.id;
  if (item.question) {  // an option of a multi-choice question: 1 or 0 once anything there is ticked
    const box = root.querySelector("[data-question='" + item.question + "']");
    const mine = root.querySelector("#" + CSS.escape(id));
    if (!box || !mine || !box.querySelector("input:checked")) return undefined;
    return mine.checked ? 1 : 0;
  }
  if (isChoiceLike(item)) {
    const checked = root.querySelector("input[name='" + id + "']:checked");
    if (!checked) return undefined;
    if (checked.value === "") return "";
    return item.kind === "choice" ? checked.value : Number(checked.value);
  }
  const input = root.querySelector("#" + CSS.escape(id));
  const parsed = parseNumber(input.value, item);
  return parsed.error ? undefined : parsed.value === null ? undefined : parsed.value;
}

// Show ``value`` in an item's controls ("" checks Skip, undefined clears it).
export function setItem(item, root, value, prefix) {
  const id = (prefix || "") + item.id;
  if (item.question) {
    const mine = root.querySelector("#" + CSS.escape(id));
    if (mine) mine.checked = value === 1 || value === "1";
    return;
  }
  if (isChoiceLike(item)) {
    root.querySelectorAll("input[name='" + id + "']").forEach((input) => {
      input.checked = value !== undefined && input.value === String(value);
    });
    return;
  }
  const input = root.querySelector("#" + CSS.escape(id));
  if (input && document.activeElement !== input) input.value = value === undefined || value === "" ? "" : String(value);
}

// A server problem ("got 99; allowed: a number from 0 to 50 (years)") in words, without the item id.
export function problemWords(text) {
  const match = /^got (.*); allowed: (.*)$/s.exec(text);
  if (!match) return text.charAt(0).toUpperCase() + text.slice(1);
  return "This answer (" + match[1].replace(/^'(.*)'$/, "$1") + ") is not allowed. Allowed: " + match[2] + ".";
}

export function markError(item, root, message, prefix) {
  const id = (prefix || "") + item.id;
  const box = root.querySelector("#item-" + CSS.escape(id));
  if (!box) return null;
  const error = box.querySelector(".field-error");
  error.textContent = message;
  error.hidden = false;
  box.classList.add("invalid");
  const control = box.querySelector("input[type=text]") || box.querySelector("input:checked") || box.querySelector("input");
  box.querySelectorAll("input").forEach((input) => input.setAttribute("aria-invalid", "true"));
  return control;
}

export function clearError(item, root, prefix) {
  const id = (prefix || "") + item.id;
  const box = root.querySelector("#item-" + CSS.escape(id));
  if (!box) return;
  const error = box.querySelector(".field-error");
  error.textContent = "";
  error.hidden = true;
  box.classList.remove("invalid");
  box.querySelectorAll("input").forEach((input) => input.removeAttribute("aria-invalid"));
}

// "Python" under "How would you rate your skill in ..." reads "How would you rate your skill in Python?"
// (as rolefit.apps.guidance_text.question_text).
export function questionText(text, prompt) {
  if (text.endsWith("?")) return text;
  if (prompt.endsWith("...")) {
    const first = text.split(" ")[0];
    const keep = first === "Python" || /[A-Z]/.test(first.slice(1));
    return prompt.slice(0, -3).trim() + " " + (keep ? text : text[0].toLowerCase() + text.slice(1)) + "?";
  }
  return prompt ? text + " (" + prompt[0].toLowerCase() + prompt.slice(1) + ")" : text;
}
