"""Model names -> parameter counts, from the shipped register (data/llm_models.csv), then the
open models of the benchmark the estimator is fitted on (data/mlenergy_llm_train.csv)."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

from footprint.errors import NotFoundError
from footprint.factors import model_register, read_data_csv


@dataclass(frozen=True)
class ModelParams:
    name: str  # the register's name
    provider: str
    arch: str
    params_b: tuple[float, float]  # (min, max): closed models are published estimates with a range
    active_params_b: tuple[float, float]
    source: str

    @property
    def is_range(self) -> bool:
        return self.params_b[0] != self.params_b[1] or self.active_params_b[0] != self.active_params_b[1]


@functools.cache
def _index() -> dict[str, ModelParams]:
    out: dict[str, ModelParams] = {}
    for row in model_register():
        try:
            entry = ModelParams(
                name=row["model"],
                provider=row["provider"],
                arch=row["arch"],
                params_b=(float(row["total_params_b_min"]), float(row["total_params_b_max"])),
                active_params_b=(float(row["active_params_b_min"]), float(row["active_params_b_max"])),
                source=row["source"],
            )
        except (TypeError, ValueError):
            continue  # a register row without parameter counts cannot be estimated
        for key in (row["model"], f"{row['provider']}/{row['model']}"):
            out.setdefault(key.lower(), entry)
        # Hugging Face ids are also known by their short name ('Llama-3.1-8B-Instruct').
        if "/" in row["model"]:
            out.setdefault(row["model"].split("/", 1)[1].lower(), entry)
    # Open models measured by the benchmark the estimator is fitted on, when the register lacks them.
    for row in read_data_csv("mlenergy_llm_train.csv"):
        name = row["model"]
        if name.lower() in out:
            continue
        total, active = float(row["params_total_b"]), float(row["params_active_b"])
        entry = ModelParams(
            name=name,
            provider=name.split("/", 1)[0],
            arch="moe" if total > active * 1.05 else "dense",
            params_b=(total, total),
            active_params_b=(active, active),
            source="ML.ENERGY benchmark (data/mlenergy_llm_train.csv params_total_b, params_active_b)",
        )
        out[name.lower()] = entry
        out.setdefault(name.split("/", 1)[-1].lower(), entry)
    return out


def lookup(name: str) -> ModelParams:
    """The register entry for a model name (case-insensitive; 'provider/model' and a Hugging Face
    short name work too). Unknown names raise NotFoundError naming the closest register names."""
    key = (name or "").strip().lower()
    index = _index()
    if key in index:
        return index[key]
    names = sorted({entry.name for entry in index.values()})
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(key, list(lowered), n=5, cutoff=0.5)
    hint = f"; closest: {', '.join(lowered[c] for c in close)}" if close else ""
    raise NotFoundError(
        f"unknown model {name!r}: not in the model register (give --params/--active-params instead){hint}"
    )
