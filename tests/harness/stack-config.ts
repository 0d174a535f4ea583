// Reads Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI does for a program: project config
// defaults first, then the stack's values, as the flat "<namespace>:<key>" map the runtime receives.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export const STACKS = ["dev", "us", "eu", "asia"] as const;

export function readYaml(file: string): any {
    return parse(fs.readFileSync(file, "utf8"));
}

const asConfigString = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

export function stackConfig(root: string, stack: string, overrides: Record<string, unknown> = {}) {
    const projectFile = readYaml(path.join(root, "Pulumi.yaml"));
    const project: string = projectFile.name;
    const stackFile = readYaml(path.join(root, `Pulumi.${stack}.yaml`)) ?? {};
    const config: Record<string, string> = {};
    for (const [key, decl] of Object.entries<any>(projectFile.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl)
            config[`${project}:${key}`] = asConfigString(decl.default);
    }
    for (const [key, value] of Object.entries<unknown>(stackFile.config ?? {})) config[key] = asConfigString(value);
    for (const [key, value] of Object.entries(overrides)) {
        const full = key.includes(":") ? key : `${project}:${key}`;
        if (value === undefined) delete config[full];
        else config[full] = asConfigString(value);
    }
    return { project, config, stackFile };
}
