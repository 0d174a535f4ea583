// Pulumi.yaml as the documentation of the configuration: every key path the program reads must be
// named (in backticks) in the description of its top-level key, and every path named there must be
// one the program reads. Pure functions, so a test can run them on a damaged copy too.
import type { ProjectFile } from "../../config/files";

/** `a.{b,c}.d` -> [`a.b.d`, `a.c.d`] (one level of braces, any number of groups). */
export function expandBraces(token: string): string[] {
    const m = /\{([^{}]*)\}/.exec(token);
    if (!m) return [token];
    return m[1]
        .split(",")
        .map((alt) => alt.trim())
        .flatMap((alt) => expandBraces(token.slice(0, m.index) + alt + token.slice(m.index + m[0].length)));
}

/** Map keys are placeholders (`resources.<workload>`): any name in angle brackets stands for any key. */
const normalise = (path: string) => path.replace(/<[^>]*>/g, "<>");

const PATH = /^[A-Za-z][A-Za-z0-9]*((\.[A-Za-z<][A-Za-z0-9<>-]*)|(\[\]))*$/;

/** The key paths a description names: backticked tokens that read as paths below `topKey`. */
export function describedPaths(description: string, topKey: string): string[] {
    const tokens = [...description.matchAll(/`([^`]+)`/g)].map((m) => m[1].trim());
    return tokens
        .flatMap(expandBraces)
        .filter((t) => PATH.test(t) && (t === topKey || t.startsWith(`${topKey}.`) || t.startsWith(`${topKey}[`)))
        .map(normalise);
}

export interface KeyPath {
    path: string;
    /** Whether the path ends at a value (a leaf must be named itself; an object is named by naming a child). */
    leaf: boolean;
}

/**
 * What Pulumi.yaml leaves undescribed, or describes but the program does not read, as messages that
 * name the key and where to describe it.
 */
export function descriptionProblems(project: ProjectFile, topKeys: readonly string[], paths: KeyPath[]): string[] {
    const problems: string[] = [];
    const declared = project.config ?? {};
    for (const top of topKeys) {
        const decl = declared[top];
        const description = typeof decl === "object" && decl !== null ? (decl.description ?? "") : "";
        if (description.trim().length < 10) {
            problems.push(`Pulumi.yaml: config key \`${top}\` has no description`);
            continue;
        }
        const named = new Set(describedPaths(description, top));
        const below = paths.filter((p) => p.path.startsWith(`${top}.`) || p.path.startsWith(`${top}[`));
        const known = new Set(below.map((p) => normalise(p.path)));
        for (const p of below) {
            const path = normalise(p.path);
            const described =
                named.has(path) ||
                (!p.leaf && [...named].some((n) => n.startsWith(`${path}.`) || n.startsWith(`${path}[`)));
            if (!described)
                problems.push(
                    `Pulumi.yaml does not describe \`${p.path}\`: name it in backticks, with what it sets, in the description of config key \`${top}\``,
                );
        }
        for (const n of named)
            if (n !== top && !known.has(n))
                problems.push(
                    `Pulumi.yaml describes \`${n}\` under \`${top}\`, which the program does not read (config/schema.ts)`,
                );
    }
    return problems;
}
