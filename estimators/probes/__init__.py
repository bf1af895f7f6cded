"""Probes of leads tried on the LLM fit and not kept (estimators/README.md): research scripts, not
installed with the package; each reruns leave-one-model-out with one change patched into the fit."""
