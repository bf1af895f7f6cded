"""Report languages: English and French (decimal comma, narrow no-break space groups, French dates).

French number style follows the SI Brochure (9th ed., 5.4.3-5.4.4): comma as decimal marker,
digits grouped by three with a narrow no-break space (U+202F, as CLDR), a no-break space
(U+00A0) between a number and its unit and before "%".
"""

from __future__ import annotations

import math
from datetime import date

from footprint.errors import ValidationError

LANGS = ("en", "fr")
NNBSP = "\u202f"
NBSP = "\u00a0"

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")

STRINGS = {
    "colon": (": ", "\u00a0: "),  # French puts a no-break space before the colon
    "title": ("Environmental footprint of AI use cases", "Empreinte environnementale des cas d'usage d'IA"),
    "period": ("Period", "Période"),
    "from_to": ("from {start} to {end}", "du {start} au {end}"),
    "summary": ("Summary", "Synthèse"),
    "totals": ("Totals", "Totaux"),
    "energy": ("Energy", "Énergie"),
    "carbon_location": ("Carbon (location-based)", "Carbone (méthode fondée sur la localisation)"),
    "carbon_market": ("Carbon (market-based)", "Carbone (méthode fondée sur le marché)"),
    "water": ("Water", "Eau"),
    "embodied": ("Embodied carbon (hardware, reported apart)", "Carbone intrinsèque (matériel, présenté à part)"),
    "measured_share": ("Measured share", "Part mesurée"),
    "range": ("range", "intervalle"),
    "use_cases": ("Use cases", "Cas d'usage"),
    "use_case": ("Use case", "Cas d'usage"),
    "team": ("Team", "Équipe"),
    "status": ("Status", "Statut"),
    "deployment": ("Deployment", "Déploiement"),
    "model": ("Model", "Modèle"),
    "benefit": ("Claimed benefit", "Bénéfice déclaré"),
    "evidence": ("evidence", "justificatif"),
    "per_benefit": ("Carbon per benefit unit", "Carbone par unité de bénéfice"),
    "no_benefit": ("No documented benefit", "Aucun bénéfice documenté"),
    "no_benefit_flag": ("Use cases without a documented benefit", "Cas d'usage sans bénéfice documenté"),
    "none": ("none", "aucun"),
    "trend": ("Trend against the previous period", "Évolution par rapport à la période précédente"),
    "previous": ("Previous period", "Période précédente"),
    "change": ("Change", "Variation"),
    "new": ("new", "nouveau"),
    "idle": ("Idle and unallocated energy", "Énergie au repos et non attribuée"),
    "idle_energy": ("Idle energy of shared servers (no traffic)", "Énergie au repos des serveurs partagés (sans trafic)"),
    "unallocated_energy": ("Unallocated energy (no use case recorded)", "Énergie non attribuée (aucun cas d'usage enregistré)"),
    "idle_allocated": ("Idle energy allocated to use cases by their share of each server",
                       "Énergie au repos répartie entre les cas d'usage selon leur part de chaque serveur"),
    "idle_not_allocated": ("Idle energy is shown apart (use --allocate-idle to share it out).",
                           "L'énergie au repos est présentée à part (option --allocate-idle pour la répartir)."),
    "esrs": ("ESRS E1-5 / E1-6 style table (this tool's slice of the organisation's figures)",
             "Tableau au format ESRS E1-5 / E1-6 (part de ces cas d'usage dans les chiffres de l'organisation)"),
    "datapoint": ("Datapoint", "Point de données"),
    "value": ("Value", "Valeur"),
    "low": ("low", "bas"),
    "high": ("high", "haut"),
    "e1_5": ("E1-5 §37 Energy consumption, own operations (on-prem, IT × PUE)",
             "E1-5 §37 Consommation d'énergie, activités propres (sur site, IT × PUE)"),
    "e1_6_s2l": ("E1-6 §49(a) Scope 2, location-based", "E1-6 §49(a) Scope 2, méthode fondée sur la localisation"),
    "e1_6_s2m": ("E1-6 §49(b) Scope 2, market-based", "E1-6 §49(b) Scope 2, méthode fondée sur le marché"),
    "e1_6_s3c1": ("E1-6 §51 Scope 3 cat. 1, purchased AI services (API, cloud; estimated)",
                  "E1-6 §51 Scope 3 cat. 1, services d'IA achetés (API, cloud ; estimé)"),
    "e1_6_s3c2": ("E1-6 §51 Scope 3 cat. 2, capital goods (SCI amortised share, not the purchase-year total)",
                  "E1-6 §51 Scope 3 cat. 2, biens d'équipement (part amortie SCI, pas le total de l'année d'achat)"),
    "esrs_note": ("Figures cover only the AI use cases in this register; sum quarters unrounded for the annual "
                  "statement. BEGES: on-prem electricity is poste 2.1, purchased AI services poste 4.5, hardware "
                  "poste 4.2; the BEGES uses location-based factors only. A claimed benefit is never netted from "
                  "emissions.",
                  "Ces chiffres ne couvrent que les cas d'usage d'IA du registre ; additionner les trimestres non "
                  "arrondis pour la déclaration annuelle. BEGES : électricité sur site au poste 2.1, services d'IA "
                  "achetés au poste 4.5, matériel au poste 4.2 ; le BEGES n'utilise que des facteurs fondés sur la "
                  "localisation. Un bénéfice déclaré n'est jamais déduit des émissions."),
    "methodology": ("Methodology", "Méthodologie"),
    "factors": ("Factors used", "Facteurs utilisés"),
    "factor": ("Factor", "Facteur"),
    "source": ("Source", "Source"),
    "vintage": ("Vintage", "Millésime"),
    "used_for": ("Used for", "Utilisé pour"),
    "methods": ("Methods", "Méthodes"),
    "method": ("Method", "Méthode"),
    "uncertainty": ("Stated uncertainty", "Incertitude retenue"),
    "rules": ("Accounting rules", "Règles de comptabilisation"),
    "rule_energy": ("A server's interval energy is GPU + CPU + RAM; facility energy is IT energy × PUE (use case, "
                    "then site, then the default factor listed below).",
                    "L'énergie d'un serveur sur un intervalle est GPU + CPU + RAM ; l'énergie du site est l'énergie "
                    "informatique × PUE (du cas d'usage, sinon du site, sinon le facteur par défaut ci-dessous)."),
    "rule_split": ("A server dedicated to one use case gives it all its energy. A shared server splits each "
                   "interval by tokens (output tokens + {w} × input tokens); intervals without traffic are idle. "
                   "Two collectors measuring one server at the same time are counted once.",
                   "Un serveur dédié donne toute son énergie à son cas d'usage. Un serveur partagé répartit chaque "
                   "intervalle selon les jetons (jetons de sortie + {w} × jetons d'entrée) ; les intervalles sans "
                   "trafic sont au repos. Deux collecteurs mesurant le même serveur au même moment ne sont comptés "
                   "qu'une fois."),
    "rule_estimate": ("Usage without measurement (APIs, cloud) is estimated from token counts with an 80 % "
                      "interval; measured figures carry the stated instrument uncertainty; ranges add up.",
                      "L'usage sans mesure (API, cloud) est estimé à partir des jetons avec un intervalle à 80 % ; "
                      "les chiffres mesurés portent l'incertitude d'instrument indiquée ; les intervalles "
                      "s'additionnent."),
    "rule_generations": ("Token-based estimates use the serving-software generation of the year the tokens were used "
                         "(fitted on the ML.ENERGY benchmark runs v1 2023, v2 2024, v3 2025-26); this period used: {g}.",
                         "Les estimations à partir des jetons utilisent la génération de logiciels de service de l'année "
                         "où les jetons ont été consommés (ajustée sur les campagnes ML.ENERGY v1 2023, v2 2024, v3 "
                         "2025-26) ; cette période a utilisé : {g}."),
    "estimate_basis": ("Basis of the token-based estimates, per model", "Base des estimations à partir des jetons, par modèle"),
    "basis_fit": ("{m}: fitted estimator ({f} J per output token)", "{m} : estimateur ajusté ({f} J par jeton de sortie)"),
    "basis_measured": ("{m}: our own measured J per token ({j} J per output token)",
                       "{m} : nos propres mesures de J par jeton ({j} J par jeton de sortie)"),
    "basis_both": ("{m}: fitted estimator {f} J, our own measurements {j} J per output token (measured / fitted = ×{r})",
                   "{m} : estimateur ajusté {f} J, nos propres mesures {j} J par jeton de sortie (mesuré / ajusté = ×{r})"),
    "rule_carbon": ("Carbon = facility energy × grid factor of the use case's country for the period's year "
                    "(location-based); market-based uses the contractual factor when one is given, else the "
                    "location-based factor. Water = IT energy × on-site WUE + facility energy × water factor of "
                    "electricity. Embodied carbon = hardware manufacturing carbon × time reserved / lifetime (SCI, "
                    "ISO/IEC 21031).",
                    "Carbone = énergie du site × facteur du réseau du pays du cas d'usage pour l'année de la période "
                    "(localisation) ; la méthode marché utilise le facteur contractuel s'il est fourni, sinon celui "
                    "de la localisation. Eau = énergie informatique × WUE du site + énergie du site × facteur eau de "
                    "l'électricité. Carbone intrinsèque = carbone de fabrication du matériel × temps réservé / durée "
                    "de vie (SCI, ISO/IEC 21031)."),
    "balance": ("Energy balance (exact): measured {m} = allocated {a} + idle {i} + unallocated {u}.",
                "Bilan énergétique (exact) : mesuré {m} = attribué {a} + repos {i} + non attribué {u}."),
    "warnings": ("Warnings", "Avertissements"),
    "charts": ("Charts", "Graphiques"),
    "chart_impact": ("Carbon per use case, by method", "Carbone par cas d'usage, selon la méthode"),
    "chart_per_benefit": ("Carbon per benefit unit", "Carbone par unité de bénéfice"),
    "chart_trend": ("Carbon, previous and current period", "Carbone, période précédente et actuelle"),
    "chart_breakdown": ("Energy breakdown", "Répartition de l'énergie"),
    "measured": ("measured", "mesuré"),
    "modelled": ("modelled", "modélisé"),
    "estimated": ("estimated", "estimé"),
    "gpu": ("GPU", "GPU"),
    "cpu": ("CPU", "CPU"),
    "ram": ("RAM", "RAM"),
    "facility_overhead": ("facility overhead (PUE)", "surcoût du site (PUE)"),
    "retired": ("retired", "retiré"),
    "retired_on": ("retired on {d}", "retiré le {d}"),
    "per_unit": ("per {unit}", "par {unit}"),
    "no_data": ("No measurement or usage data in this period.", "Aucune mesure ni donnée d'usage sur cette période."),
    "generated_note": ("Produced by footprint from the local database; every figure is traceable to the factors and "
                       "methods listed in the methodology.",
                       "Produit par footprint à partir de la base locale ; chaque chiffre se rattache aux facteurs et "
                       "méthodes listés dans la méthodologie."),
    "status_idea": ("idea", "idée"), "status_experiment": ("experiment", "expérimentation"),
    "status_pilot": ("pilot", "pilote"), "status_production": ("production", "production"),
    "status_retired": ("retired", "retiré"),
    "deployment_on-prem": ("on-prem", "sur site"), "deployment_cloud": ("cloud", "cloud"),
    "deployment_api": ("API", "API"),
    "csv_header": ("slug,name,team,status,deployment,model,energy_kwh,energy_kwh_low,energy_kwh_high,gco2e,gco2e_low,"
                   "gco2e_high,gco2e_market,water_l,embodied_gco2e,measured_share,benefit_value,benefit_unit,"
                   "benefit_evidence,gco2e_per_benefit_unit,trend_gco2e_pct", None),
    # --- transparency register and dashboard (issue 18)
    "data_location": ("Where its data is processed", "Lieu de traitement des données"),
    "data_location_on-prem": ("on-prem (own premises)", "sur site (locaux propres)"),
    "data_location_eu": ("in the EU", "dans l'UE"), "data_location_outside-eu": ("outside the EU", "hors UE"),
    "not_stated": ("not stated", "non renseigné"),
    "last_consultation": ("Last consultation of staff representatives", "Dernière consultation des représentants du personnel"),
    "never_consulted": ("no consultation recorded", "aucune consultation enregistrée"),
    "purpose": ("Purpose", "Finalité"),
    "provider": ("Provider", "Fournisseur"),
    "started": ("Started", "Début"),
    "retired_col": ("Retired", "Retrait"),
    "data_quality": ("Data-quality notes", "Qualité des données"),
    "dq_estimated": ("{p} of its energy is estimated from token counts (80 % interval shown).",
                     "{p} de son énergie est estimée à partir des jetons (intervalle à 80 % indiqué)."),
    "dq_modelled": ("{p} of its energy is modelled (CPU load × TDP, RAM model), not measured.",
                    "{p} de son énergie est modélisée (charge CPU × TDP, modèle RAM), non mesurée."),
    "dq_estimate_error": ("Estimate for model {m} failed: {e}", "L'estimation pour le modèle {m} a échoué : {e}"),
    "dq_no_benefit": ("No benefit documented for this period: its impact cannot be weighed against one.",
                      "Aucun bénéfice documenté sur la période : son impact ne peut être mis en regard d'aucun."),
    "dq_no_data": ("No measurement or usage in this period.", "Aucune mesure ni usage sur cette période."),
    "register": ("Transparency register", "Registre de transparence"),
    "quarter": ("Quarter", "Trimestre"),
    "show": ("Show", "Afficher"),
    "all_teams": ("all teams", "toutes les équipes"),
    "pareto": ("Carbon against benefit", "Carbone et bénéfice"),
    "pareto_note": ("Each point is a use case: its carbon in the quarter against the benefit it claims, in its own "
                    "unit (log scales). A use case on the front (ringed) has no other use case with the same benefit "
                    "unit that claims more for less carbon.",
                    "Chaque point est un cas d'usage : son carbone sur le trimestre et le bénéfice déclaré, dans sa "
                    "propre unité (échelles logarithmiques). Un cas d'usage sur la frontière (cerclé) n'a aucun autre "
                    "cas de même unité de bénéfice qui déclare plus pour moins de carbone."),
    "on_front": ("On the Pareto front", "Sur la frontière de Pareto"),
    "yes": ("yes", "oui"), "no": ("no", "non"),
    "quarters_side": ("Quarters side by side", "Trimestres côte à côte"),
    "what_changed": ("What changed and why", "Ce qui a changé, et pourquoi"),
    "estimate_sources": ("Estimate sources", "Sources des estimations"),
    "estimator_generation": ("Estimator generation", "Génération de l'estimateur"),
    "changed_figure": ("{what}: {a} in {p} → {b} in {q} ({d})", "{what} : {a} en {p} → {b} en {q} ({d})"),
    "changed_methods": ("Methods in {q}: added {add}; dropped {drop}", "Méthodes en {q} : ajoutées {add} ; retirées {drop}"),
    "changed_benefit_unit": ("The benefit unit changed from {a} to {b}: per-unit figures are not comparable.",
                             "L'unité de bénéfice est passée de {a} à {b} : les chiffres par unité ne sont pas comparables."),
    "nothing_changed": ("No change in method; figures only.", "Aucun changement de méthode ; seuls les chiffres varient."),
    "dashboard_note": ("Read-only view of the local database, per use case, never per person. Data still in a running "
                       "collector's spool appears once a footprint command has ingested it.",
                       "Vue en lecture seule de la base locale, par cas d'usage, jamais par personne. Les données encore "
                       "dans le tampon d'un collecteur apparaissent dès qu'une commande footprint les a intégrées."),
    "api_json": ("This quarter's report as JSON", "Le rapport de ce trimestre en JSON"),
    # issue 16: intervals whose GPU energy counter and NVML power usage disagreed by more than 10%
    "gpu_crosscheck": ("GPU cross-check", "Contrôle croisé GPU"),
    "gpu_crosscheck_note": ("{n} interval(s) where the GPU energy counter and NVML power usage disagreed by more than "
                            "10% (the counter is kept; check the host with footprint doctor --gpu-check)",
                            "{n} intervalle(s) où le compteur d'énergie GPU et la puissance NVML diffèrent de plus de "
                            "10\u00a0% (le compteur est retenu ; vérifier l'hôte avec footprint doctor --gpu-check)"),
}

UNITS = {
    "kWh": ("kWh", "kWh"), "MWh": ("MWh", "MWh"), "gCO2e": ("gCO2e", "gCO2e"), "kgCO2e": ("kgCO2e", "kgCO2e"),
    "tCO2e": ("tCO2e", "tCO2e"), "L": ("L", "L"), "m3": ("m³", "m³"), "%": ("%", "%"),
}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValidationError(f"bad language {lang!r}: expected one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str, **kw) -> str:
    en, fr = STRINGS[key]
    text = fr if lang == "fr" and fr is not None else en
    return text.format(**kw) if kw else text


def _decimals(x: float) -> int:
    a = abs(x)
    if a == 0 or a >= 100:
        return 0
    if a >= 10:
        return 1
    if a >= 1:
        return 2
    # three significant digits below 1
    return min(9, 2 - int(math.floor(math.log10(a))))


def number(x: float | None, lang: str, decimals: int | None = None) -> str:
    """A number for people: grouped thousands, sensible decimals, language's separators."""
    if x is None:
        return "–"
    d = _decimals(x) if decimals is None else decimals
    text = f"{x:,.{d}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    return text


def quantity(x: float | None, unit: str, lang: str, decimals: int | None = None) -> str:
    label = UNITS.get(unit, (unit, unit))[1 if lang == "fr" else 0]
    sep = NBSP if lang == "fr" else " "
    if unit == "%" and lang == "en":
        sep = ""
    return f"{number(x, lang, decimals)}{sep}{label}"


def percent(share: float | None, lang: str) -> str:
    if share is None:
        return "–"
    return quantity(100.0 * share, "%", lang, 0 if abs(share) >= 0.1 or share == 0 else 1)


def day(d: date, lang: str) -> str:
    if lang == "fr":
        return f"{'1er' if d.day == 1 else d.day} {_MONTHS_FR[d.month - 1]} {d.year}"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def best_carbon_unit(grams: float) -> tuple[float, str]:
    a = abs(grams)
    if a >= 1e6:
        return 1e-6, "tCO2e"
    if a >= 1e3:
        return 1e-3, "kgCO2e"
    return 1.0, "gCO2e"


# Fixed texts the accounting engine writes into the report data (methods, what each factor is used for).
_FR_TEXTS = {
    "GPU energy counter read through NVML (nvmlDeviceGetTotalEnergyConsumption deltas)":
        "Compteur d'énergie du GPU lu par NVML (écarts de nvmlDeviceGetTotalEnergyConsumption)",
    "GPU power read through NVML every 50-100 ms and integrated over time":
        "Puissance du GPU lue par NVML toutes les 50 à 100 ms et intégrée dans le temps",
    "GPU energy counter exported by NVIDIA DCGM exporter": "Compteur d'énergie du GPU exporté par NVIDIA DCGM exporter",
    "GPU power exported by NVIDIA DCGM exporter, integrated over time":
        "Puissance du GPU exportée par NVIDIA DCGM exporter, intégrée dans le temps",
    "Energy attributed by Kepler (eBPF + RAPL/NVML) per pod": "Énergie attribuée par Kepler (eBPF + RAPL/NVML) par pod",
    "Energy measured by CodeCarbon (its own emissions.csv)": "Énergie mesurée par CodeCarbon (son fichier emissions.csv)",
    "CPU package energy from Intel/AMD RAPL counters (through CodeCarbon)":
        "Énergie du processeur lue sur les compteurs RAPL Intel/AMD (par CodeCarbon)",
    "CPU energy modelled from CPU load x TDP (CodeCarbon, no RAPL access)":
        "Énergie du processeur modélisée par charge × TDP (CodeCarbon, sans accès RAPL)",
    "CPU energy modelled as a constant share of TDP (CodeCarbon fallback)":
        "Énergie du processeur modélisée comme part fixe du TDP (repli de CodeCarbon)",
    "RAM energy modelled from installed memory (CodeCarbon RAM model)":
        "Énergie de la mémoire modélisée d'après la mémoire installée (modèle RAM de CodeCarbon)",
    "Energy estimated from token counts by footprint's fitted per-token estimator, with its 80 % interval":
        "Énergie estimée à partir des jetons par l'estimateur ajusté de footprint, avec son intervalle à 80 %",
    "as recorded by its collector": "telle qu'enregistrée par son collecteur",
    "token split of shared hosts": "répartition par jetons des serveurs partagés",
    "token-based estimate (estimators)": "estimation à partir des jetons (estimateurs)",
    "facility energy = IT energy x PUE": "énergie du site = énergie informatique × PUE",
    "market-based carbon": "carbone, méthode fondée sur le marché",
    "on-site water = IT energy x WUE": "eau sur site = énergie informatique × WUE",
    "PUE when neither use case nor site gives one": "PUE lorsque ni le cas d'usage ni le site n'en donnent",
    "location-based carbon when no country is known": "carbone (localisation) lorsqu'aucun pays n'est connu",
    "water of electricity generation = facility energy x factor":
        "eau de la production d'électricité = énergie du site × facteur",
    "embodied carbon per GPU (SCI amortisation)": "carbone intrinsèque par GPU (amortissement SCI)",
    "GPU lifetime (SCI amortisation)": "durée de vie d'un GPU (amortissement SCI)",
    "embodied carbon of the host server (SCI amortisation)": "carbone intrinsèque du serveur hôte (amortissement SCI)",
    "server lifetime (SCI amortisation)": "durée de vie d'un serveur (amortissement SCI)",
    "input token weight": "poids d'un jeton d'entrée",
    "contractual factor": "facteur contractuel",
    "on-site WUE": "WUE sur site",
    "given by the user": "donné par l'utilisateur",
    "user-given; must meet GHG Protocol Scope 2 quality criteria":
        "donné par l'utilisateur ; doit respecter les critères de qualité Scope 2 du GHG Protocol",
    "splits a shared server's energy: output tokens + weight x input tokens":
        "répartit l'énergie d'un serveur partagé : jetons de sortie + poids × jetons d'entrée",
}


def tr(text: str | None, lang: str) -> str | None:
    """A fixed engine text in the report's language (unknown texts, e.g. citations, stay as they are)."""
    if text is None or lang != "fr":
        return text
    if text in _FR_TEXTS:
        return _FR_TEXTS[text]
    if text.startswith("grid intensity "):
        return "intensité carbone du réseau " + text[len("grid intensity "):]
    if text.startswith("location-based carbon (") and text.endswith(")"):
        return "carbone, méthode fondée sur la localisation (" + text[len("location-based carbon ("):]
    return text


def estimate_lines(report: dict, lang: str) -> tuple[str | None, list[str]]:
    """The methodology's line naming the serving-software generations used, and one line per
    estimated model saying whether its figures come from the fit or our own measurements."""
    gens = report.get("serving_generations") or []
    gen_line = None
    if gens:
        named = ", ".join(g["generation"] + (f" ({', '.join(str(y) for y in g['serving_years'])})" if g["serving_years"] else "")
                          for g in gens)
        gen_line = t("rule_generations", lang, g=named)
    lines = []
    for b in report.get("estimate_basis") or []:
        fit, measured, ratio = b.get("fit_j_per_output_token"), b.get("measured_j_per_output_token"), b.get("measured_to_fit")
        f = number(fit, lang, 3) if fit is not None else "–"
        j = number(measured, lang, 3) if measured is not None else "–"
        if ratio is not None:
            lines.append(t("basis_both", lang, m=b["model"], f=f, j=j, r=number(ratio, lang, 2)))
        elif "measured" in b.get("figures_from", ()):
            lines.append(t("basis_measured", lang, m=b["model"], j=j))
        else:
            lines.append(t("basis_fit", lang, m=b["model"], f=f))
    return gen_line, lines
