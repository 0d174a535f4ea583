// The keys of the configuration schema, read from the schema itself: the keys an object accepts at
// a path (for "did you mean"), and every key path a stack file can set (Pulumi.yaml must describe
// each one; tests/config.test.ts compares them).
import type { z } from "zod";

type Schema = z.core.$ZodType;
type Def = Record<string, unknown> & { type: string };
const defOf = (schema: Schema) => schema._zod.def as unknown as Def;

/** Wrappers that do not change which keys a value may have. */
function unwrap(schema: Schema): Schema {
    const def = defOf(schema);
    switch (def.type) {
        case "optional":
        case "default":
        case "nullable":
        case "readonly":
        case "prefault":
        case "catch":
            return unwrap(def.innerType as Schema);
        case "pipe":
            // A transformed value: its keys are those of the input.
            return unwrap(def.in as Schema);
        default:
            return schema;
    }
}

/** The keys an object schema accepts at `path` (through optionals, defaults, lists, maps and unions). */
export function keysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
    const inner = unwrap(schema);
    const def = defOf(inner);
    switch (def.type) {
        case "union":
            return [...new Set((def.options as Schema[]).flatMap((o) => keysAt(o, path)))];
        case "array":
            return path.length === 0 ? [] : keysAt(def.element as Schema, path.slice(1));
        case "record":
            return path.length === 0 ? [] : keysAt(def.valueType as Schema, path.slice(1));
        case "object": {
            const shape = def.shape as Record<string, Schema>;
            if (path.length === 0) return Object.keys(shape);
            const next = shape[String(path[0])];
            return next ? keysAt(next, path.slice(1)) : [];
        }
        default:
            return [];
    }
}

/** What a key path leads to: an object (its keys are paths too), a list or map of objects, or a value. */
const hasKeys = (schema: Schema): boolean => {
    const def = defOf(unwrap(schema));
    if (def.type === "object") return true;
    if (def.type === "union") return (def.options as Schema[]).some(hasKeys);
    if (def.type === "array") return hasKeys(def.element as Schema);
    if (def.type === "record") return hasKeys(def.valueType as Schema);
    return false;
};

/**
 * Every key path a stack file can set, as `pulumi config set --path` spells it: `shop.frontend.replicas`,
 * `services[].calls` (any list entry), `resources.<name>.requests.cpu` (any key of a map whose values
 * are objects). Maps and lists of plain values end the path (`scheduling.nodeSelector`, `cluster.zones`).
 * `placeholders` names a map's key per path (default `<name>`).
 */
export function keyPaths(
    schema: Schema,
    prefix = "",
    placeholders: Record<string, string> = {},
): { path: string; leaf: boolean }[] {
    const def = defOf(unwrap(schema));
    switch (def.type) {
        case "object": {
            const out: { path: string; leaf: boolean }[] = [];
            for (const [key, child] of Object.entries(def.shape as Record<string, Schema>)) {
                const path = prefix ? `${prefix}.${key}` : key;
                out.push({ path, leaf: !hasKeys(child) }, ...keyPaths(child, path, placeholders));
            }
            return out;
        }
        case "union": {
            const seen = new Map<string, { path: string; leaf: boolean }>();
            for (const o of def.options as Schema[])
                for (const p of keyPaths(o, prefix, placeholders)) seen.set(p.path, p);
            return [...seen.values()];
        }
        case "array":
            return hasKeys(def.element as Schema) ? keyPaths(def.element as Schema, `${prefix}[]`, placeholders) : [];
        case "record":
            return hasKeys(def.valueType as Schema)
                ? keyPaths(def.valueType as Schema, `${prefix}.${placeholders[prefix] ?? "<name>"}`, placeholders)
                : [];
        default:
            return [];
    }
}
