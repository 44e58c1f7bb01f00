"""Echo report sentences written from labels, in the style of real echocardiography reports.

EchoCLIP was trained on frames paired with the text of clinical reports ("LV EJECTION FRACTION
IS 47%. MILDLY REDUCED LEFT VENTRICULAR SYSTOLIC FUNCTION. ..."). For the synthetic archive
the reports are generated from the known EF and LV size, with paraphrases so the text tower
cannot key on one template. `parse_report_ef` reads the EF back (used by tests and by users
who want to check their own report column).
"""

from __future__ import annotations

import re

import numpy as np

EF_SENTENCES = (
    "LV EJECTION FRACTION IS {ef}%.",
    "THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE {ef}%.",
    "LEFT VENTRICULAR EJECTION FRACTION {ef}%.",
    "ESTIMATED LVEF IS {ef}%.",
    "BIPLANE LVEF {ef}%.",
)
FUNCTION_SENTENCES = {
    "severely reduced": (
        "SEVERELY REDUCED LEFT VENTRICULAR SYSTOLIC FUNCTION.",
        "SEVERE GLOBAL LV HYPOKINESIS.",
        "LEFT VENTRICULAR SYSTOLIC FUNCTION IS SEVERELY DEPRESSED.",
    ),
    "moderately reduced": (
        "MODERATELY REDUCED LEFT VENTRICULAR SYSTOLIC FUNCTION.",
        "MODERATE GLOBAL LV HYPOKINESIS.",
        "LEFT VENTRICULAR SYSTOLIC FUNCTION IS MODERATELY DEPRESSED.",
    ),
    "mildly reduced": (
        "MILDLY REDUCED LEFT VENTRICULAR SYSTOLIC FUNCTION.",
        "MILD GLOBAL LV HYPOKINESIS.",
        "LEFT VENTRICULAR SYSTOLIC FUNCTION IS MILDLY DEPRESSED.",
    ),
    "normal": (
        "NORMAL LEFT VENTRICULAR SYSTOLIC FUNCTION.",
        "LV SYSTOLIC FUNCTION IS NORMAL.",
        "NO REGIONAL WALL MOTION ABNORMALITIES. NORMAL LV FUNCTION.",
    ),
    "hyperdynamic": (
        "HYPERDYNAMIC LEFT VENTRICULAR SYSTOLIC FUNCTION.",
        "LV SYSTOLIC FUNCTION IS HYPERDYNAMIC.",
        "VIGOROUS LEFT VENTRICULAR CONTRACTION.",
    ),
}
SIZE_SENTENCES = {
    "dilated": ("THE LEFT VENTRICLE IS DILATED.", "LEFT VENTRICULAR CAVITY SIZE IS INCREASED."),
    "normal": ("NORMAL LEFT VENTRICULAR CAVITY SIZE.", "THE LEFT VENTRICLE IS NORMAL IN SIZE."),
    "small": ("SMALL LEFT VENTRICULAR CAVITY SIZE.", "THE LEFT VENTRICULAR CAVITY IS SMALL."),
}
_EF_PATTERN = re.compile(r"(?:EJECTION FRACTION|LVEF)[A-Z ]*?(\d{1,3}(?:\.\d+)?)\s*%")


def function_category(ef: float) -> str:
    """The category names of the default prompt set (<30, 30-44, 45-54, 55-70, >70)."""
    if ef < 30:
        return "severely reduced"
    if ef < 45:
        return "moderately reduced"
    if ef < 55:
        return "mildly reduced"
    if ef <= 70:
        return "normal"
    return "hyperdynamic"


def make_report(ef: float, rng: np.random.Generator, edv_ml: float | None = None) -> str:
    """One report: an EF sentence (EF rounded to an integer), a function sentence and, when the
    end-diastolic volume is known, a size sentence, in a shuffled order."""
    value = int(round(ef))
    sentences = [
        str(rng.choice(EF_SENTENCES)).format(ef=value),
        str(rng.choice(FUNCTION_SENTENCES[function_category(value)])),
    ]
    if edv_ml is not None:
        size = "dilated" if edv_ml > 95 else "small" if edv_ml < 50 else "normal"
        sentences.append(str(rng.choice(SIZE_SENTENCES[size])))
    order = rng.permutation(len(sentences))
    return " ".join(sentences[i] for i in order)


def parse_report_ef(report: str) -> float | None:
    """The EF a report states (the first "... EJECTION FRACTION ... N%" or "LVEF ... N%"), or None."""
    match = _EF_PATTERN.search(report.upper())
    return float(match.group(1)) if match else None
