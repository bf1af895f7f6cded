"""Published per-prompt figures, at each publisher's boundary (data/reference_factors.csv).

Google (arXiv 2508.15734): median Gemini Apps text prompt 0.24 Wh at the comprehensive boundary
(accelerators + host + idle + data-centre overhead, fleet PUE 1.09), 0.03 gCO2e market-based.
Our range for a Gemini 2.5 Flash answer of a median length contains the energy; the carbon figure
is market-based (Google's contractual clean-energy purchases), which a location-based grid factor
cannot reproduce: at Google's implied 125 gCO2e/kWh the energy range contains 0.03 g as well.

Also 0.10 Wh for the active accelerators alone (our GPU energy), which falls just below our GPU range
(0.105-0.366 Wh: an H100 at 256 sequences, not a TPU), and 0.26 mL of on-site water, inside.

Mistral Large 2 (Mistral / Carbone 4 / ADEME LCA, 2025): 1.14 gCO2e per 400-token answer,
inference incl. upstream hardware, location-based. At that boundary (use phase on France's grid
+ embodied hardware, Azure Sweden PUE) our range does not contain it: served one request at a time
with today's software it reaches 0.50-0.78 g (the LCA's figure is x1.8 our central value; with the
weights term's batch exponent the newest software's batch-1 cost is an extrapolation from batches of
8 and more, estimators/README.md); at the assumed production batch (256 concurrent sequences) our
estimate is about 80 times lower. The LCA does not publish its utilisation
assumption; see estimators/README.md (published per-prompt checks).

OpenAI (Sam Altman, "The Gentle Singularity", 2025-06-10): 0.34 Wh for an average ChatGPT query,
boundary unstated. Our range for a gpt-4o answer of the same median length contains it.
"""

from __future__ import annotations

from footprint.estimators import estimate_llm
from footprint.factors import reference_factor

# Google gives no token count; a median chat answer is a few hundred tokens with a longer prompt.
GEMINI_OUTPUT_TOKENS = 300
GEMINI_INPUT_TOKENS = 1000
# In reference_factors.csv's note on gemini_median_text_prompt_energy: active-accelerator-only = 0.10 Wh.
GEMINI_ACTIVE_ACCELERATOR_WH = 0.10
# OpenAI, Sam Altman, "The Gentle Singularity" (blog, 2025-06-10): "the average query uses about 0.34 watt-hours".
OPENAI_AVERAGE_QUERY_WH = 0.34


def test_gemini_median_prompt_energy_within_range():
    published_wh = reference_factor("gemini_median_text_prompt_energy").number
    e = estimate_llm(model="gemini-2.5-flash", output_tokens=GEMINI_OUTPUT_TOKENS, input_tokens=GEMINI_INPUT_TOKENS,
                     pue=reference_factor("pue_google").number, country="USA")
    total = e.energy_wh["total"]
    assert total.low <= published_wh <= total.high


def test_gemini_active_accelerators_and_water_within_range():
    e = estimate_llm(model="gemini-2.5-flash", output_tokens=GEMINI_OUTPUT_TOKENS, input_tokens=GEMINI_INPUT_TOKENS,
                     pue=reference_factor("pue_google").number, country="USA")
    # Just below our GPU range: within 10% of its low end, not inside it.
    assert GEMINI_ACTIVE_ACCELERATOR_WH < e.energy_wh["gpu"].low < 1.1 * GEMINI_ACTIVE_ACCELERATOR_WH
    assert e.water_ml.low <= reference_factor("gemini_median_text_prompt_water").number <= e.water_ml.high


def test_openai_average_query_within_range_and_near_the_centre():
    e = estimate_llm(model="gpt-4o", output_tokens=GEMINI_OUTPUT_TOKENS, input_tokens=GEMINI_INPUT_TOKENS)
    total = e.energy_wh["total"]
    assert total.low <= OPENAI_AVERAGE_QUERY_WH <= total.high
    assert 0.5 < total.value / OPENAI_AVERAGE_QUERY_WH < 2  # the central value, not just a wide range
    assert total.high / total.low < 8


def test_gemini_carbon_at_the_market_based_boundary():
    published_g = reference_factor("gemini_median_text_prompt_co2").number
    energy_wh = reference_factor("gemini_median_text_prompt_energy").number
    implied_market_g_per_kwh = published_g / (energy_wh / 1000)  # Google's own market-based intensity
    e = estimate_llm(model="gemini-2.5-flash", output_tokens=GEMINI_OUTPUT_TOKENS, input_tokens=GEMINI_INPUT_TOKENS,
                     pue=reference_factor("pue_google").number, country="USA")
    low, high = (x / 1000 * implied_market_g_per_kwh for x in (e.energy_wh["total"].low, e.energy_wh["total"].high))
    assert low <= published_g <= high
    # Location-based (what we report) is higher than the market-based figure, as it should be.
    assert e.gco2e.value > published_g


def test_mistral_large_2_lca_figure():
    published = float(reference_factor("mistral_le_chat_400_tokens").value)
    boundary = dict(model="mistralai/Mistral-Large-Instruct-2407", output_tokens=400, country="FRA",
                    pue=reference_factor("pue_microsoft_sweden").number)

    def use_plus_hardware(e):  # the LCA's boundary: location-based use phase + upstream hardware
        return e.gco2e.low + e.embodied_gco2e.low, e.gco2e.high + e.embodied_gco2e.high

    # Served one request at a time (weights read once per token), the range comes within x2 of the
    # figure but stays below it...
    low, high = use_plus_hardware(estimate_llm(**boundary, batch=1))
    assert high < published < 2 * high
    # ...while at the assumed production batch (256 concurrent sequences) it is far lower.
    assert use_plus_hardware(estimate_llm(**boundary))[1] < published / 20
