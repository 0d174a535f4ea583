// Configuration problems in plain words: the key (as `pulumi config set --path` names it), the value
// given, what is expected, and for a misspelt key the closest real one.
import { closest, distance } from "fastest-levenshtein";
import type { z } from "zod";

export const PROJECT = "ecommerce-platform";

/** `ecommerce-platform:shop.frontend.replicas`, `ecommerce-platform:services[1].name`. */
export function keyName(path: readonly PropertyKey[]): string {
    const [first, ...rest] = path.map(String);
    return `${PROJECT}:${first}` + rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
}

export function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
    let v: unknown = obj;
    for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
    return v;
}

/** A value as a stack file would spell it, shortened: objects and lists are summarised, never dumped. */
export function shown(value: unknown): string {
    if (value === undefined) return "(not set)";
    if (Array.isArray(value))
        return value.length <= 4 && value.every((v) => typeof v !== "object")
            ? JSON.stringify(value)
            : `a list of ${value.length}`;
    if (typeof value === "object" && value !== null) return `{${Object.keys(value).join(", ")}}`;
    return JSON.stringify(value);
}

/** "did you mean" for a key that is not one of `known`, when one is close enough to be a typo. */
export function suggestion(key: string, known: readonly string[]): string | undefined {
    if (known.length === 0) return undefined;
    const best = closest(key, [...known]);
    const limit = Math.max(2, Math.floor(best.length / 3));
    return distance(key.toLowerCase(), best.toLowerCase()) <= limit ? best : undefined;
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
    const near = suggestion(key, known);
    return `unknown key${near ? `; did you mean "${near}"?` : ""} Expected one of: ${known.join(", ")}`;
}

type Schema = z.core.$ZodType;

/** The keys an object schema accepts at `path` (through optionals, defaults, lists and unions). */
export function keysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
    const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
        case "optional":
        case "default":
        case "nullable":
        case "readonly":
        case "prefault":
            return keysAt(def.innerType as Schema, path);
        case "pipe":
            return keysAt(def.in as Schema, path);
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

/** Plain words for what zod found, with the value given. */
export function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
    switch (issue.code) {
        case "invalid_type":
            // zod's own text ("Invalid input: expected number, received string") only when no field message was set.
            if (/^Invalid input/.test(issue.message)) {
                const got = value === undefined ? "nothing" : Array.isArray(value) ? "a list" : `a ${typeof value}`;
                return `expected ${article(issue.expected)}, got ${got}`;
            }
            return issue.message;
        case "invalid_value":
            return /^Invalid/.test(issue.message)
                ? `expected one of ${issue.values.map(String).join(", ")}`
                : issue.message;
        default:
            return issue.message;
    }
}

function article(expected: string): string {
    const words: Record<string, string> = {
        number: "a number (e.g. 3)",
        string: 'text (e.g. "value")',
        boolean: "true or false",
        object: "a map of keys (e.g. {key: value})",
        array: "a list (e.g. [a, b])",
    };
    return words[expected] ?? expected;
}
