"""What runs inside a virtualenv (or an external Python) for `PythonVirtualenvOperator` and
`ExternalPythonOperator`: a standard-library script, run by path, that defines the task's
function from its source, calls it with the JSON arguments in `argv[1]` and writes its return
value as JSON to `argv[2]`. It imports nothing of flowtui, which the venv does not have."""

import json
import sys


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as given:
        payload = json.load(given)
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(payload["source"], payload["filename"], "exec"), namespace)
    function = namespace[payload["name"]]
    assert callable(function)
    result = function(*payload["args"], **payload["kwargs"])
    try:
        text = json.dumps(result)
    except (TypeError, ValueError) as exc:
        print(
            f"[flowtui] the return value of {payload['name']} is not JSON ({exc}); "
            "flowtui passes it back as JSON, never pickle: return plain values",
            file=sys.stderr,
        )
        return 1
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
