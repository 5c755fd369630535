/**
 * Admission for the fake API server: what the real one checks before storing an object. Built-in
 * kinds are validated against the Kubernetes OpenAPI schemas (kubernetes-models) with kubectl's
 * strict unknown-field check, and Experiments against the project's own CRD (its openAPIV3Schema,
 * with the schema's defaults applied, as the API server does) — both through
 * services/coordinator/k8s/manifest-validation.ts. So every object the operator builds, and every
 * status the operator and coordinator write, is schema-checked in the end-to-end test.
 * Test-only: kubernetes-models and ajv are dev dependencies.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ManifestInvalidError, UnknownKindError } from '../../errors.js';
import { validateAgainstCrd, validateK8sObject } from '../../k8s/manifest-validation.js';
import { apiVersionOf, type KObject, type ResourceDef } from './fake-resources.js';

/** The Experiment CRD as shipped (k8s/crd, a byte-for-byte copy of the chart's). */
export const EXPERIMENT_CRD_URL = new URL('../../../../../k8s/crd/experiments.encourage.dev.yaml', import.meta.url);

export class AdmissionError extends Error {
  override readonly name = 'AdmissionError';
}

export type Admission = (def: ResourceDef, obj: KObject) => Promise<KObject>;

/** Admission with the shipped CRD; returns the object to store (defaulted for custom resources). */
export function kubernetesAdmission(crd: Record<string, unknown> = parse(readFileSync(EXPERIMENT_CRD_URL, 'utf8')) as Record<string, unknown>): Admission {
  return async (def, obj) => {
    // The server decodes a body into the type its URL names.
    const typed = { ...obj, apiVersion: apiVersionOf(def), kind: def.kind };
    try {
      if (def.group !== '') return validateAgainstCrd(crd, typed) as KObject;
      await validateK8sObject(typed);
      return typed;
    } catch (err) {
      if (err instanceof ManifestInvalidError || err instanceof UnknownKindError) throw new AdmissionError(err.message);
      throw err;
    }
  };
}
