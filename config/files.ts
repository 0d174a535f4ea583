// Pulumi.yaml and Pulumi.<stack>.yaml read as the Pulumi CLI reads them for a program: the project's
// declared defaults first, then the stack's values, as the flat "<namespace>:<key>" map the runtime
// receives. Used by `npm run check` and the tests, so they see exactly what `pulumi up` would.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, parseDocument } from "yaml";
import { ConfigError, ENCRYPTED, parseFlatConfig } from "./load";
import type { PlatformConfig } from "./schema";

export interface ProjectFile {
    name: string;
    config?: Record<
        string,
        { type?: string; default?: unknown; description?: string; secret?: boolean; items?: unknown }
    >;
}

export interface StackFile {
    config?: Record<string, unknown>;
    /** Keys set with --secret: the CLI stores them encrypted ({secure: ...}). */
}

/** An override set as `pulumi config set --secret` would set it. */
export const secretValue = (value: unknown) => ({ $secret: value });
const isSecretOverride = (v: unknown): v is { $secret: unknown } =>
    typeof v === "object" && v !== null && "$secret" in v;

const asConfigString = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

const isCiphertext = (v: unknown): boolean =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).join() === "secure";

/** A stack file's value with each `{secure: ...}` in it replaced by ENCRYPTED, and whether there was one. */
function withoutCiphertext(v: unknown): { plain: unknown; encrypted: boolean } {
    if (isCiphertext(v)) return { plain: ENCRYPTED, encrypted: true };
    if (Array.isArray(v)) {
        const items = v.map(withoutCiphertext);
        return { plain: items.map((i) => i.plain), encrypted: items.some((i) => i.encrypted) };
    }
    if (typeof v === "object" && v !== null) {
        const entries = Object.entries(v).map(([k, x]) => [k, withoutCiphertext(x)] as const);
        return {
            plain: Object.fromEntries(entries.map(([k, x]) => [k, x.plain])),
            encrypted: entries.some(([, x]) => x.encrypted),
        };
    }
    return { plain: v, encrypted: false };
}

export function readProjectFile(root: string): ProjectFile {
    return parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

/** A stack's file: Pulumi.<stack>.yaml next to Pulumi.yaml, or `file` (a path, e.g. a user's draft elsewhere). */
export function readStackFile(root: string, stack: string, file = path.join(root, `Pulumi.${stack}.yaml`)): StackFile {
    const name = path.basename(file);
    if (!fs.existsSync(file))
        throw new ConfigError(stack, [
            `no stack file ${file}: expected a stack named by a Pulumi.<stack>.yaml next to Pulumi.yaml (here: ${stackNames(root).join(", ")}) or the path of such a file`,
        ]);
    const text = fs.readFileSync(file, "utf8");
    const doc = parseDocument(text);
    if (doc.errors.length > 0) {
        const lines = text.split("\n");
        throw new ConfigError(
            stack,
            doc.errors.map((e) => {
                const line = e.linePos?.[0].line;
                const where = line ? `${name} line ${line}` : name;
                return e.code === "DUPLICATE_KEY"
                    ? `${where}: "${lines[line! - 1].trim()}" appears twice in the same map: merge the two into one (YAML keeps one key once)`
                    : `${where}: not valid YAML: ${e.message.split("\n")[0]}`;
            }),
        );
    }
    return (doc.toJS() as StackFile | null) ?? {};
}

/** The stacks that have a Pulumi.<stack>.yaml in `root`. */
export function stackNames(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}

/**
 * The flat config map a program sees for `stack`, with `overrides` (keys with or without the
 * project prefix; undefined or null removes a key) applied last, and the keys whose value is a secret.
 */
export function stackConfig(root: string, stack: string, overrides: Record<string, unknown> = {}, file?: string) {
    const projectFile = readProjectFile(root);
    const project = projectFile.name;
    const stackFile = readStackFile(root, stack, file);
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, decl] of Object.entries(projectFile.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl)
            config[`${project}:${key}`] = asConfigString(decl.default);
    }
    for (const [key, value] of Object.entries(stackFile.config ?? {})) {
        // Encrypted values (the whole value, or leaves set with --secret --path) cannot be read here:
        // each stands as ENCRYPTED, and the key is a secret, as the CLI treats it.
        const { plain, encrypted } = withoutCiphertext(value);
        if (encrypted) secretKeys.push(key);
        config[key] = asConfigString(plain);
    }
    for (const [key, value] of Object.entries(overrides)) {
        const full = key.includes(":") ? key : `${project}:${key}`;
        // undefined or null removes the key (null survives the JSON of an evaluation request).
        if (value === undefined || value === null) delete config[full];
        else if (isSecretOverride(value)) {
            config[full] = asConfigString(value.$secret);
            secretKeys.push(full);
        } else config[full] = asConfigString(value);
    }
    return { project, config, secretKeys, stackFile };
}

/**
 * The typed configuration of `stack` as `pulumi up` would see it (files, then `overrides`), or the
 * ConfigError it would stop with.
 */
export function readStackConfig(
    root: string,
    stack: string,
    overrides: Record<string, unknown> = {},
    file?: string,
): PlatformConfig {
    const { config, secretKeys } = stackConfig(root, stack, overrides, file);
    return parseFlatConfig(stack, config, (key) => secretKeys.includes(key));
}
