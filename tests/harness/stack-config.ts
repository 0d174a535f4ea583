// The stacks this repository ships, and their configuration read through the program's own config
// module (config/files.ts): the tests see exactly what `pulumi up` would.
import * as path from "node:path";
import { readStackConfig, stackConfig as read, stackNames } from "../../config/files";

export const ROOT = path.resolve(__dirname, "..", "..");
export const STACKS = ["dev", "us", "eu", "asia"] as const;
export type StackName = (typeof STACKS)[number];

/** Pulumi.<stack>.yaml files present next to Pulumi.yaml (a test checks these are the STACKS). */
export const stackFiles = () => stackNames(ROOT);

export const stackConfig = (root: string, stack: string, overrides?: Record<string, unknown>, file?: string) =>
    read(root, stack, overrides, file);

/** The typed configuration of a shipped stack, as the program would read it (overrides applied last). */
export const configOf = (stack: string, overrides: Record<string, unknown> = {}) =>
    readStackConfig(ROOT, stack, overrides);
