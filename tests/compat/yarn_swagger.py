"""The YARN Services API Swagger definitions as JSON Schema (draft 4), shared by the tests that
check the sandbox's answers (test_yarn_emulator_swagger.py) and converge's own requests
(tests/integration/test_yarn_requests.py) against reconcilers/yarn/upstream.

Conversions and documented exceptions (reconcilers/yarn/upstream/README.md, NOTES.md §2):
* the state enums (ServiceState, ComponentState, ContainerState) are written in the YAML as an
  object with a `state` member, which would accept any string; they are checked as the string
  enums the server sends and accepts;
* a container's `launch_time` is epoch milliseconds (a number), not a date string;
* `lifetime` may be a string in requests (Jackson coerces it).
"""

import copy
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = os.path.normpath(os.path.join(HERE, "..", "..", "reconcilers", "yarn", "upstream"))
EXAMPLES = os.path.join(UPSTREAM, "services-examples")
SWAGGER = os.path.join(UPSTREAM, "services-api", "YARN-Simplified-V1-API-Layer-For-Services.yaml")


def service_schema(name="Service"):
    """A draft-4 schema of one Swagger definition ("Service", "Component", ...)."""
    with open(SWAGGER) as f:
        definitions = copy.deepcopy(yaml.safe_load(f)["definitions"])
    for enum in ("ServiceState", "ComponentState", "ContainerState"):
        definitions[enum] = {"type": "string",
                             "enum": definitions[enum]["properties"]["state"]["enum"]}
    definitions["Container"]["properties"]["launch_time"] = {"type": ["string", "integer"]}
    definitions["Service"]["properties"]["lifetime"] = {"type": ["string", "integer"]}
    return {"$ref": "#/definitions/" + name, "definitions": definitions}
