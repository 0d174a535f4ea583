// Configuration problems in plain words: the key (as `pulumi config set --path` names it), the value
// given, what is expected, and for a misspelt key the closest real one.
import { closest, distance } from "fastest-levenshtein";
import type { z } from "zod";
import { keysAt } from "./keys";

export { keysAt };

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

/**
 * Keys a stack file may still set from an earlier version, by path (as keyName spells it below the
 * namespace): what replaced them. An old stack file gets this instead of "unknown key".
 */
export const RETIRED_KEYS: Record<string, string> = {
    "redisEnterprise.egressCidrs":
        "was removed: expected the region's egress ranges in cluster.egressCidrs, the one key for them (published to the peers, whose east-west and Redis Enterprise peer gateways admit them); move the ranges there and delete this key",
};

/** The message for a key the schema does not take at `path`: retired (with its replacement) or unknown. */
export function keyProblem(path: readonly PropertyKey[], key: string, known: readonly string[]): string {
    const retired = RETIRED_KEYS[keyName([...path, key]).slice(PROJECT.length + 1)];
    return retired ?? unknownKeyMessage(key, known);
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
    const near = suggestion(key, known);
    if (known.length === 0) return "unknown key: this map takes no keys";
    return `unknown key${near ? `; did you mean "${near}"?` : "."} Expected one of: ${known.join(", ")}`;
}

/** `; did you mean "payment"?` when `name` is close to one of `known`, else nothing. */
export const didYouMean = (name: string, known: readonly string[]) => {
    const near = suggestion(name, known);
    return near && near !== name ? `; did you mean "${near}"?` : "";
};

/** The validation library's own wording, which no message may show (tests/config.test.ts holds every message to it). */
export const LIBRARY_WORDING =
    /Invalid input|Invalid (key|option|element|email|url|string|format)|Too (small|big)|Unrecognized key|expected \w+ to have|received (undefined|string|number|boolean|object|array|null)/;

/**
 * zod's issues in the form a person reads them: a value that matched no form of a union (e.g.
 * `autoscaling: {minReplica: 2}`, which is neither `false` nor a valid range) is reported as the
 * problems of the form it was meant as (the object one, when it is an object).
 */
export function plainIssues(issues: readonly z.core.$ZodIssue[], input: unknown): z.core.$ZodIssue[] {
    return issues.flatMap((issue): z.core.$ZodIssue[] => {
        if (issue.code === "invalid_union" && issue.errors.length > 0) {
            const value = valueAt(input, issue.path);
            const meant = issue.errors.find(
                (branch) =>
                    typeof value === "object" &&
                    value !== null &&
                    !branch.some(
                        (e) => e.path.length === 0 && (e.code === "invalid_type" || e.code === "invalid_value"),
                    ),
            );
            if (meant)
                return plainIssues(
                    meant.map((e) => ({ ...e, path: [...issue.path, ...e.path] })),
                    input,
                );
        }
        return [issue];
    });
}

/** Plain words for what zod found, with the value given. */
export function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
    // A map key that is not a valid name: the key's own message (the map's message is about the map).
    if (issue.code === "invalid_key")
        return `is not a valid name here: ${issue.issues.map((i) => issueMessage(i, undefined)).join("; ")}`;
    // A message the schema's field set (they start with "expected ...") is already plain words.
    if (!LIBRARY_WORDING.test(issue.message) && !/^Invalid/.test(issue.message)) return issue.message;
    switch (issue.code) {
        case "invalid_type": {
            const got = value === undefined ? "nothing" : Array.isArray(value) ? "a list" : `a ${typeof value}`;
            return `expected ${article(issue.expected)}, got ${got}`;
        }
        case "invalid_value":
            return `expected one of ${issue.values.map(String).join(", ")}`;
        case "too_small":
            return sizeMessage("at least", issue.origin, issue.minimum, issue.inclusive);
        case "too_big":
            return sizeMessage("at most", issue.origin, issue.maximum, issue.inclusive);
        case "invalid_format":
            if (issue.format === "email") return "expected an e-mail address such as platform-team@example.com";
            if (issue.format === "url") return "expected a URL such as https://example.com";
            return "expected a value in a different form; see Pulumi.yaml's description of this key";
        case "invalid_union":
            return "expected one of the forms Pulumi.yaml describes for this key";
        default:
            return "expected a value of the form Pulumi.yaml describes for this key";
    }
}

function sizeMessage(bound: "at least" | "at most", origin: string, limit: number | bigint, inclusive?: boolean) {
    const n = Number(limit);
    if (origin === "string")
        return n === 1 && bound === "at least" ? "expected a non-empty value" : `expected ${bound} ${n} characters`;
    if (origin === "array") return `expected a list of ${bound} ${n} ${n === 1 ? "entry" : "entries"}`;
    return `expected a number ${inclusive === false ? (bound === "at least" ? "above" : "below") : bound} ${n}`;
}

function article(expected: string): string {
    const words: Record<string, string> = {
        number: "a number (e.g. 3)",
        int: "a whole number (e.g. 3)",
        string: 'text (e.g. "value")',
        boolean: "true or false",
        object: "a map of keys (e.g. {key: value})",
        array: "a list (e.g. [a, b])",
        record: "a map of keys (e.g. {key: value})",
    };
    return words[expected] ?? expected;
}
