import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import semver from 'semver';
import type { PersistedOperations } from './loadPersistedOperations.js';

/** A manifest whose operations use a schema element: an app release, or the first-party manifest. */
export interface UsageByManifest {
  manifest: string;
  /** `null` for the first-party manifest. */
  clientName: string | null;
  version: string | null;
  /** The names of its operations that use the element. */
  operations: string[];
}

/** A field, argument, input field or enum value of the schema, and who uses it. */
export interface SchemaElementUsage {
  /** Schema coordinate: `Type.field`, `Type.field(arg:)`, `Input.field`, `Enum.VALUE`. */
  coordinate: string;
  kind: 'field' | 'argument' | 'inputField' | 'enumValue';
  deprecationReason: string | null;
  usedBy: UsageByManifest[];
}

/** The schema coordinates one document selects or passes: fields, arguments, input fields and enum values written in it. */
export function coordinatesOf(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const used = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && !node.name.value.startsWith('__') && typeInfo.getFieldDef()) used.add(`${parent.name}.${node.name.value}`);
      },
      Argument(node) {
        // Directive arguments (`@include(if:)`) are not the schema's fields.
        if (typeInfo.getDirective()) return;
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field && typeInfo.getArgument()) used.add(`${parent.name}.${field.name}(${node.name.value}:)`);
      },
      ObjectField(node) {
        const parent = getNamedType(typeInfo.getParentInputType());
        if (isInputObjectType(parent) && parent.getFields()[node.name.value]) used.add(`${parent.name}.${node.name.value}`);
      },
      EnumValue(node) {
        const type = getNamedType(typeInfo.getInputType());
        if (isEnumType(type) && type.getValue(node.value)) used.add(`${type.name}.${node.value}`);
      },
    }),
  );
  return used;
}

/** Every field, argument, input field and enum value of the schema (introspection types aside), in type-name order. */
function schemaElements(schema: GraphQLSchema): Omit<SchemaElementUsage, 'usedBy'>[] {
  const elements: Omit<SchemaElementUsage, 'usedBy'>[] = [];
  const types = Object.values(schema.getTypeMap())
    .filter((t) => !t.name.startsWith('__'))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const type of types) {
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        elements.push({ coordinate: `${type.name}.${field.name}`, kind: 'field', deprecationReason: field.deprecationReason ?? null });
        for (const arg of field.args) elements.push({ coordinate: `${type.name}.${field.name}(${arg.name}:)`, kind: 'argument', deprecationReason: arg.deprecationReason ?? null });
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) elements.push({ coordinate: `${type.name}.${field.name}`, kind: 'inputField', deprecationReason: field.deprecationReason ?? null });
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) elements.push({ coordinate: `${type.name}.${value.name}`, kind: 'enumValue', deprecationReason: value.deprecationReason ?? null });
    }
  }
  return elements;
}

/**
 * For every element of the schema, the manifests (app versions) whose operations use it, worked
 * out offline from the manifests' documents: which versions a change or removal would break, and
 * which versions still use what is deprecated. An element used only through a variable's value
 * (an input field inside `$input`) is not visible in a document: arguments and fields are exact,
 * input fields and enum values are those written as literals.
 */
export function schemaUsage(schema: GraphQLSchema, operations: PersistedOperations): SchemaElementUsage[] {
  const usage = new Map<string, Map<string, UsageByManifest>>();
  const coordinatesById = new Map<string, Set<string>>();
  for (const manifest of operations.manifests) {
    for (const id of manifest.operationIds) {
      const operation = operations.byId.get(id);
      if (!operation) continue;
      let coordinates = coordinatesById.get(id);
      if (!coordinates) coordinatesById.set(id, (coordinates = coordinatesOf(schema, operation.document)));
      for (const coordinate of coordinates) {
        let byManifest = usage.get(coordinate);
        if (!byManifest) usage.set(coordinate, (byManifest = new Map()));
        let entry = byManifest.get(manifest.file);
        if (!entry) {
          entry = { manifest: manifest.file, clientName: manifest.release?.clientName ?? null, version: manifest.release?.version ?? null, operations: [] };
          byManifest.set(manifest.file, entry);
        }
        if (!entry.operations.includes(operation.name)) entry.operations.push(operation.name);
      }
    }
  }
  return schemaElements(schema).map((element) => ({ ...element, usedBy: [...(usage.get(element.coordinate)?.values() ?? [])].sort(byAppVersion) }));
}

/** App releases by client name, then version (semver order: 4.10.0 after 4.9.0); the first-party manifest last. */
export function byAppVersion(a: Pick<UsageByManifest, 'clientName' | 'version' | 'manifest'>, b: Pick<UsageByManifest, 'clientName' | 'version' | 'manifest'>): number {
  if (!a.clientName || !b.clientName) return a.clientName ? -1 : b.clientName ? 1 : a.manifest.localeCompare(b.manifest);
  return a.clientName.localeCompare(b.clientName) || semver.compare(a.version!, b.version!);
}

/** An app version as people say it: `shop-ios 4.2.0`, or `first-party`. */
export const appVersionLabel = ({ clientName, version, manifest }: Pick<UsageByManifest, 'clientName' | 'version' | 'manifest'>) =>
  clientName ? `${clientName} ${version}` : manifest.replace(/\.json$/, '');
