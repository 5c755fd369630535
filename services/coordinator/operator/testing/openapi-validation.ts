/**
 * Validation of core/v1 objects against the Kubernetes OpenAPI schemas, through the maintained
 * `kubernetes-models` package (its models carry the upstream schemas and validate with ajv). The
 * fake API server uses it as admission, so every object the operator creates in the end-to-end test
 * is schema-checked; the builder tests call it directly. Test-only: kubernetes-models is a dev
 * dependency.
 */
import { Event, Pod, Secret, Service } from 'kubernetes-models/v1';
import type { ResourceDef } from './fake-resources.js';

type Validator = (obj: unknown) => void;

const VALIDATORS: Record<string, Validator> = {
  pods: (o) => new Pod(o as ConstructorParameters<typeof Pod>[0]).validate(),
  services: (o) => new Service(o as ConstructorParameters<typeof Service>[0]).validate(),
  secrets: (o) => new Secret(o as ConstructorParameters<typeof Secret>[0]).validate(),
  events: (o) => new Event(o as ConstructorParameters<typeof Event>[0]).validate(),
};

/** The schema error of a core/v1 object of `plural`, or null when it is valid (or not a core type). */
export function openApiError(plural: string, obj: unknown): string | null {
  const validate = VALIDATORS[plural];
  if (validate === undefined) return null;
  try {
    validate(obj);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The fake API server's admission hook. */
export function validateResource(def: ResourceDef, obj: unknown): string | null {
  return def.group === '' ? openApiError(def.plural, obj) : null;
}
