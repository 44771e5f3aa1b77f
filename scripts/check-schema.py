"""Checks the onboarding request schema: every example in events/ validates, and requests
the validate step rejects for a shape reason are rejected by the schema too."""
import json
import pathlib
import sys

import jsonschema

root = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads((root / "schemas/onboarding-request.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

failures = 0
for path in sorted((root / "events").glob("onboard*.json")):
    errors = list(validator.iter_errors(json.loads(path.read_text())))
    for e in errors:
        print(f"{path.name}: {'/'.join(map(str, e.path))}: {e.message}")
    failures += len(errors)

base = json.loads((root / "events/onboard.json").read_text())
bad = {
    "upper-case id": {"customer_id": "Acme"},
    "double hyphen": {"customer_id": "ac--me"},
    "unknown field": {"colour": "red"},
    "no products": {"products": []},
    "secret value": {"secrets": {"DB": "postgres://u:p@db"}},
    "latest tag": {"services": {"api": {"image_tag": "latest"}}},
    "key with a space": {"idempotency_key": "a b"},
    "key too long": {"idempotency_key": "k" * 37},
}
for what, patch in bad.items():
    request = {**base, **patch}
    if validator.is_valid(request):
        print(f"schema accepts a bad request: {what}")
        failures += 1

if failures:
    sys.exit(1)
print("schema: events valid, bad shapes rejected")
