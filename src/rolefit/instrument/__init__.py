"""The instrument: every item's id, text, scale, group and lean (``questionnaire.yaml``), the single source of
truth for the generator, survey validation, input validation, the model signature, the web form and the
explanation text."""
