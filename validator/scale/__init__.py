"""Scale's wire format: the only layer that knows the JSON shapes of a request body and of the answer.

``format`` (the request body specified once, as msgspec Structs: annotations, Task, envelope), ``envelope`` (the
typed decode of a body, ``{task, response}`` and the Task read with that specification), ``annotations`` (the
columns both ways in produce, and the careful reading that names each malformed annotation), ``task`` (TaskSpec: the
task's params, normalised), ``answer`` (the answer format), ``jsonio`` (JSON parsing and encoding, one nesting
limit)."""
