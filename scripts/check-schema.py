"""Checks the event schemas (events/schemas/): every example in events/ validates against its
schema (the onboarding request, the lifecycle requests, each request event's detail in
events/bus/, each outcome event in events/outcomes/), and shapes berth rejects are rejected by
the schema too. With `--emitted DIR`, also every event the end-to-end suites read from the
portal's queue (DIR/*.jsonl)."""
import json
import pathlib
import sys

import jsonschema

root = pathlib.Path(__file__).resolve().parent.parent


def load_validator(name):
    """The validator of events/schemas/<name>.schema.json, the schema itself checked first."""
    schema = json.loads((root / f"events/schemas/{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def report(label, validator, document):
    """Prints each way `document` breaks its schema, as `label: path: message`; how many."""
    errors = list(validator.iter_errors(document))
    for e in errors:
        print(f"{label}: {'/'.join(map(str, e.path))}: {e.message}")
    return len(errors)


validator = load_validator("onboarding-request")

failures = 0
for path in sorted((root / "events").glob("onboard*.json")) + [root / "events/update.json"]:
    failures += report(path.name, validator, json.loads(path.read_text()))

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

lifecycle_validator = load_validator("lifecycle-request")
for name in ("suspend", "resume", "offboard"):
    path = root / "events" / f"{name}.json"
    failures += report(path.name, lifecycle_validator, json.loads(path.read_text()))
base = json.loads((root / "events/suspend.json").read_text())
for what, patch in {
    "upper-case id": {"customer_id": "Acme"},
    "unknown field": {"colour": "red"},
    "unknown reason": {"reason": "bored"},
    "empty note": {"note": ""},
}.items():
    if lifecycle_validator.is_valid({**base, **patch}):
        print(f"lifecycle schema accepts a bad request: {what}")
        failures += 1

# The request events as EventBridge delivers them: each detail is its machine's request.
detail_types = {
    "Customer Onboarding Requested": validator,
    "Customer Update Requested": validator,
    "Customer Suspend Requested": lifecycle_validator,
    "Customer Resume Requested": lifecycle_validator,
    "Customer Offboarding Requested": lifecycle_validator,
}
seen = set()
for path in sorted((root / "events/bus").glob("*.json")):
    event = json.loads(path.read_text())
    missing = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"} - event.keys()
    if missing or event.get("detail-type") not in detail_types:
        print(f"bus/{path.name}: not a request event (missing {sorted(missing)}, detail-type {event.get('detail-type')!r})")
        failures += 1
        continue
    seen.add(event["detail-type"])
    for e in detail_types[event["detail-type"]].iter_errors(event["detail"]):
        print(f"bus/{path.name}: detail/{'/'.join(map(str, e.path))}: {e.message}")
        failures += 1
for t in sorted(set(detail_types) - seen):
    print(f"events/bus has no example of {t!r}")
    failures += 1

# berth's outcome events: an example of each detail-type in events/outcomes/.
outcome_validator = load_validator("outcome")
outcome_schema = outcome_validator.schema
rejected_validator = load_validator("request-rejected")


progress_validator = load_validator("progress")


def emitted_validator(event):
    """The schema of an event berth emits, by its detail-type."""
    if str(event.get("detail-type", "")).startswith(("provision", "deprovision", "activate", "deactivate")):
        return sbt_answer_validator
    return {"Customer Request Rejected": rejected_validator, "Customer Progress": progress_validator}.get(
        event.get("detail-type"), outcome_validator
    )


examples = sorted((root / "events/outcomes").glob("*.json"))
seen = set()
for path in examples:
    event = json.loads(path.read_text())
    failures += report(f"outcomes/{path.name}", emitted_validator(event), event)
    seen.add(event.get("detail-type"))
for t in outcome_schema["properties"]["detail-type"]["enum"] + ["Customer Request Rejected", "Customer Progress"]:
    if t not in seen:
        print(f"events/outcomes has no example of {t!r}")
        failures += 1
good = json.loads((root / "events/outcomes/onboarding-succeeded.json").read_text())
for what, patch in {
    "succeeded with a failed outcome": {"outcome": "failed"},
    "another version": {"version": "2"},
    "an unknown field": {"colour": "red"},
    "another operation": {"operation": "update"},
}.items():
    if outcome_validator.is_valid({**good, "detail": {**good["detail"], **patch}}):
        print(f"outcome schema accepts a bad event: {what}")
        failures += 1

# SBT's requests as its control plane puts them, and berth's answers (an example of each).
sbt_request_validator = load_validator("sbt-request")
sbt_answer_validator = load_validator("sbt-answer")
for folder, v, kinds in (
    ("events/sbt", sbt_request_validator, sbt_request_validator.schema["properties"]["detail-type"]["enum"]),
    ("events/sbt/answers", sbt_answer_validator, sbt_answer_validator.schema["properties"]["detail-type"]["enum"]),
):
    seen = set()
    for path in sorted((root / folder).glob("*.json")):
        event = json.loads(path.read_text())
        failures += report(f"{folder}/{path.name}", v, event)
        seen.add(event.get("detail-type"))
    for t in sorted(set(kinds) - seen):
        print(f"{folder} has no example of {t!r}")
        failures += 1
good = json.loads((root / "events/sbt/onboarding-request.json").read_text())
for what, patch in {"no tenant id": {"tenantId": None}, "no services": {"services": None}, "tenant id with a slash": {"tenantId": "a/b"}}.items():
    detail = {k: v for k, v in {**good["detail"], **patch}.items() if v is not None}
    if sbt_request_validator.is_valid({**good, "detail": detail}):
        print(f"SBT request schema accepts a bad request: {what}")
        failures += 1
good = json.loads((root / "events/sbt/answers/provisionFailure.json").read_text())
if sbt_answer_validator.is_valid({**good, "detail": {k: v for k, v in good["detail"].items() if k != "error"}}):
    print("SBT answer schema accepts a failure without its error")
    failures += 1

# The events the end-to-end suites saw on the portal's queue (make test passes the folder).
if "--emitted" in sys.argv:
    folder = pathlib.Path(sys.argv[sys.argv.index("--emitted") + 1])
    emitted = [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines() if line.strip()]
    if not emitted:
        print(f"no events in {folder}: the suites saw none")
        failures += 1
    kinds = {}
    for event in emitted:
        label = f"emitted {event.get('detail-type')} ({event.get('detail', {}).get('execution')})"
        failures += report(label, emitted_validator(event), event)
        kinds[event.get("detail-type")] = kinds.get(event.get("detail-type"), 0) + 1
    print(f"emitted: {len(emitted)} events checked: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))

if failures:
    sys.exit(1)
print("schemas: events valid, bad shapes rejected")
