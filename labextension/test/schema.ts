/**
 * The comm protocol's JSON Schema (shipped in the Python package) and the shared examples,
 * compiled with ajv for the tests.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import Ajv2020 from 'ajv/dist/2020';

const root = resolve(__dirname, '..', '..');

export const schema: { $defs: { [name: string]: { oneOf?: { $ref: string }[] } } } = JSON.parse(
  readFileSync(resolve(root, 'mlr_copilot_jupyter', 'jupyter_ui', 'comm_protocol.schema.json'), 'utf8')
);

export interface IExamples {
  valid: unknown[];
  invalid: unknown[];
}

export const examples: { kernel_to_frontend: IExamples; frontend_to_kernel: IExamples } =
  JSON.parse(readFileSync(resolve(root, 'tests', 'support', 'data', 'comm_protocol_examples.json'), 'utf8'));

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addSchema(schema);
const id = (schema as unknown as { $id: string }).$id;

function validator(def: string): (v: unknown) => boolean {
  const fn = ajv.getSchema(`${id}#/$defs/${def}`);
  if (!fn) {
    throw new Error(`no definition ${def} in the schema`);
  }
  return v => fn(v) as boolean;
}

export const validKernelToFrontend = validator('KernelToFrontend');
export const validFrontendToKernel = validator('FrontendToKernel');
export const validCommOpenData = validator('CommOpenData');

/** Throws with ajv's errors when `message` is not a valid frontend -> kernel message. */
export function expectFrontendToKernel(message: unknown): void {
  if (!validFrontendToKernel(message)) {
    throw new Error(`not a valid frontend -> kernel message: ${JSON.stringify(message)}`);
  }
}

/** The `action` constants of a `oneOf` definition of the schema. */
export function actionsOf(def: string): string[] {
  const defs = schema.$defs as unknown as {
    [name: string]: { oneOf?: { $ref: string }[]; properties?: { action?: { const?: string } } };
  };
  return (defs[def].oneOf ?? []).map(ref => {
    const name = ref.$ref.replace('#/$defs/', '');
    const action = defs[name].properties?.action?.const;
    if (typeof action !== 'string') {
      throw new Error(`definition ${name} has no action constant`);
    }
    return action;
  });
}
