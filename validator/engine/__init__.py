"""The rule engine: registry and config (what runs), context (what a rule sees), engine (running every
configured rule instance on one request, within its budget), issues (what rules report)."""
