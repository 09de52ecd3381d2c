import { specifiedRules, type ValidationRule } from 'graphql';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';

let rules: readonly ValidationRule[] | undefined;

/**
 * The validation rules of a document that may use `@defer`: graphql-js's, with yoga's defer-stream
 * rules (unique labels, no `@defer` on a mutation's or subscription's root fields, fields that still
 * merge when deferred). The plugin applies them to requests through its `onValidate` hook only, so
 * they are collected from that hook: manifests are validated with exactly the rules a text request
 * would meet.
 */
export function deferValidationRules(): readonly ValidationRule[] {
  if (rules) return rules;
  const params = { rules: [...specifiedRules] as ValidationRule[] };
  const added: ValidationRule[] = [];
  const onValidate = useDeferStream().onValidate as (payload: { params: typeof params; addValidationRule: (rule: ValidationRule) => void }) => void;
  onValidate({ params, addValidationRule: (rule) => added.push(rule) });
  rules = [...params.rules, ...added];
  return rules;
}
