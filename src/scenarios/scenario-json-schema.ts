import { z } from "zod";
import { scenarioSchema } from "./scenario-schema.ts";

/** The scenario format as JSON Schema, for editors (scenarios/scenario.schema.json). */
export const scenarioJsonSchema = (): string =>
  `${JSON.stringify(z.toJSONSchema(scenarioSchema, { io: "input" }), null, 2)}\n`;
