// Writes scenarios/scenario.schema.json from the schema the runner validates with.
// `npm run schema`; a unit test fails when the committed file is out of date.
import { writeFileSync } from "node:fs";
import { scenarioJsonSchema } from "../src/scenarios/scenario-json-schema.ts";

writeFileSync("scenarios/scenario.schema.json", scenarioJsonSchema());
