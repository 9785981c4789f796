"""From a number to guidance: what to ask next, reasons grouped as people think, what would move the fit,
and the two roles explained.

Everything here is computed on request from a prediction and its answers, never inside
:func:`rolefit.predict`, so guidance costs nothing to people who only want the number.

One concept per module:

* :mod:`~rolefit.guidance.words` — plain words: certainty ("clear fit", "leaning MLE", "both fit you",
  "not enough answers yet — answer N more to sharpen this"), the starting point, group names and
  sentences;
* :mod:`~rolefit.guidance.groups` — ``group_subtotals(prediction)``: the five groups' exactly additive
  shares of the log-odds, small reasons folded into "other answers";
* :mod:`~rolefit.guidance.steps` — ``next_steps(answers)``: per role, the readiness gaps merged with the
  career guides' path, each with its share or guide; ``what_if(answers, changes)``: explore the exact
  effect of changed answers;
* :mod:`~rolefit.guidance.questions` — ``next_questions(answers)`` and ``settled(answers)``: adaptive
  questioning;
* :mod:`~rolefit.guidance.facts` (+ ``role_facts.yaml``) — ``role_facts()``: the roles explained, each fact
  with its source and year; ``common_mistakes(prediction)``: kind words;
* :mod:`~rolefit.guidance.advice` — ``guide(answers)``: all of the above in one result for apps.

Each is reached lazily from the package root (``rolefit.guide``, ``rolefit.next_steps``,
``rolefit.what_if``, ``rolefit.role_facts``, ``rolefit.next_questions``), so ``import rolefit`` stays light.
"""
