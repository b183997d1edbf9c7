"""Scale's wire format: the only layer that knows the JSON shapes of a request body and of the answer.

``annotations`` (geometry types, columns, the careful per-annotation reading), ``decode`` (the typed msgspec
decode of a well-formed body), ``envelope`` (``{task, response}``), ``task`` (TaskSpec: the task's params,
normalised), ``answer`` (the answer format), ``jsonio`` (JSON parsing and encoding)."""
