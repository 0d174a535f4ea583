// What the hand-written schemas of custom resources share (./cloudnative-pg.ts, ./redis-enterprise.ts):
// the JSON-schema building blocks and the checker that validates an object against its kind's
// schema, with the rules the operators state in prose or CEL, which JSON schema cannot express.
import Ajv, { type ValidateFunction } from "ajv";

export type Schema = Record<string, unknown>;

export const str = { type: "string" } as const;
export const bool = { type: "boolean" } as const;
export const int = { type: "integer" } as const;
export const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;
/** A Kubernetes quantity (string form, e.g. "2", "500m", "4Gi"). */
export const quantity = { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?(m|[KMGTPE]i?)?$" } as const;

/** An object with exactly these properties (a misspelt or undocumented field fails instead of being pruned). */
export const closed = (properties: Record<string, unknown>, required: string[] = []): Schema => ({
    type: "object",
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
});

/** A whole object of one kind: apiVersion, kind, the given metadata and spec, nothing else. */
export const resource = (apiVersion: string, kind: string, metadata: Schema, spec: Schema): Schema => ({
    $schema: "http://json-schema.org/draft-07/schema#",
    ...closed({ apiVersion: { const: apiVersion }, kind: { const: kind }, metadata, spec }, [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
    ]),
});

type Manifest = { apiVersion: string; kind: string; [k: string]: any };

/**
 * A checker for the API groups `groups` matches: the problems of an object against the schema of its
 * `apiVersion/kind` key plus `rules`' findings (empty when valid), or undefined for another group.
 * Extra `$`-prefixed keys (harness bookkeeping) are ignored.
 */
export function schemaChecker(
    groups: RegExp,
    schemas: Record<string, Schema>,
    file: string,
    rules: (o: Manifest) => string[] = () => [],
): (o: Manifest) => string[] | undefined {
    const ajv = new Ajv({ allErrors: true, strict: true });
    const compiled = new Map<string, ValidateFunction>();
    return (o) => {
        if (!groups.test(o.apiVersion ?? "")) return undefined;
        const key = `${o.apiVersion}/${o.kind}`;
        const schema = schemas[key];
        if (!schema) return [`no schema known for ${o.apiVersion} ${o.kind} (add it to ${file})`];
        if (!compiled.has(key)) compiled.set(key, ajv.compile(schema));
        const validate = compiled.get(key)!;
        const plain = Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith("$")));
        const problems = validate(plain)
            ? []
            : (validate.errors ?? []).map(
                  (e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`,
              );
        return [...problems, ...rules(o)];
    };
}
