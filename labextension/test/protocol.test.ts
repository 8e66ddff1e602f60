import { describe, expect, it } from 'vitest';

import {
  FRONTEND_TO_KERNEL_ACTIONS,
  KERNEL_TO_FRONTEND_ACTIONS,
  isFrontendToKernelMessage,
  isKernelToFrontendMessage
} from '../src/protocol';
import { actionsOf, examples, validFrontendToKernel, validKernelToFrontend } from './schema';

describe('the TypeScript protocol and the JSON Schema', () => {
  it('name the same actions in each direction', () => {
    expect([...KERNEL_TO_FRONTEND_ACTIONS].sort()).toEqual(actionsOf('KernelToFrontend').sort());
    expect([...FRONTEND_TO_KERNEL_ACTIONS].sort()).toEqual(actionsOf('FrontendToKernel').sort());
  });

  const cases = [
    ['kernel -> frontend', examples.kernel_to_frontend, validKernelToFrontend, isKernelToFrontendMessage],
    ['frontend -> kernel', examples.frontend_to_kernel, validFrontendToKernel, isFrontendToKernelMessage]
  ] as const;

  for (const [direction, sample, schemaValid, guard] of cases) {
    it(`${direction}: the schema and the guard accept the valid examples`, () => {
      expect(sample.valid.length).toBeGreaterThan(5);
      for (const message of sample.valid) {
        expect({ message, schema: schemaValid(message) }).toEqual({ message, schema: true });
        expect({ message, guard: guard(message) }).toEqual({ message, guard: true });
      }
    });

    it(`${direction}: the schema and the guard reject the invalid examples`, () => {
      expect(sample.invalid.length).toBeGreaterThan(5);
      for (const message of sample.invalid) {
        expect({ message, schema: schemaValid(message) }).toEqual({ message, schema: false });
        expect({ message, guard: guard(message) }).toEqual({ message, guard: false });
      }
    });
  }

  it('keeps the two directions apart', () => {
    for (const message of examples.kernel_to_frontend.valid) {
      expect(isFrontendToKernelMessage(message)).toBe(false);
      expect(validFrontendToKernel(message)).toBe(false);
    }
    for (const message of examples.frontend_to_kernel.valid) {
      expect(isKernelToFrontendMessage(message)).toBe(false);
      expect(validKernelToFrontend(message)).toBe(false);
    }
  });

  it('rejects non-objects and inherited action names', () => {
    for (const v of [null, undefined, 'ping', 3, [], [{ action: 'ping' }], { action: 'toString' }]) {
      expect(isKernelToFrontendMessage(v)).toBe(false);
      expect(isFrontendToKernelMessage(v)).toBe(false);
    }
  });
});
