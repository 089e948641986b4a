"""The patient-data guard: a newsletter goes to a whole list, so nothing in it may be about a patient.

Used on the issue's front matter (by the model) and on the template context (by the guards).
"""

from __future__ import annotations

import re
from typing import Any

# A newsletter goes to a whole list: nothing in it may be about one patient (email.md §3.6).
PATIENT_KEYS = {
    "name",
    "first_name",
    "firstname",
    "last_name",
    "lastname",
    "full_name",
    "dob",
    "date_of_birth",
    "birthdate",
    "birthday",
    "mrn",
    "medical_record",
    "ssn",
    "insurance",
    "member_id",
    "diagnosis",
    "diagnoses",
    "icd10",
    "condition",
    "conditions",
    "appointment",
    "appointments",
    "visit",
    "procedure_date",
    "physician",
    "provider",
    "address",
    "phone",
    "email",
    "medications",
    "allergies",
    "roster",
}
PATIENT_FRAGMENTS = ("patient", "diagnos", "appointment", "mrn", "dob", "icd")


def patient_like(key: str) -> bool:
    """True when a key looks like it carries data about a patient."""
    norm = re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_")
    return norm in PATIENT_KEYS or any(part in norm for part in PATIENT_FRAGMENTS)


def patient_keys(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if patient_like(str(key)):
                found.append((*path, str(key)))
            found += patient_keys(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += patient_keys(item, (*path, index))
    return found
