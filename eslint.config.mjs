// Lint rules for the program, the policy pack, the scripts and the tests (`npm run lint`).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * Shared builders, used wherever they apply (docs/architecture): each restriction names the one
 * module allowed to do the thing, and is lifted for that module only. tests/lint-rules.test.ts
 * checks each one catches what it is for.
 */
export const SHARED_BUILDERS = {
    networkPolicy: {
        owners: ["components/network.ts"],
        selector: "NewExpression[callee.property.name='NetworkPolicy']",
        message: "Build NetworkPolicies with networkPolicy() from components/network.ts (one shape for every policy).",
    },
    zoneLabel: {
        owners: ["config/profiles.ts"],
        selector: "Literal[value='topology.kubernetes.io/zone']",
        message:
            "Spread across zones by the cluster profile's zone label (cfg.cluster.profile.zoneLabel; components/defaults.ts zoneSpread), which a stack may override.",
    },
    labelKeys: {
        owners: ["components/labels.ts", "components/chart-pods.ts"],
        selector: "Property[key.value=/^app\\.kubernetes\\.io\\//]",
        message:
            "Build label sets with components/labels.ts (ours) or read them from components/chart-pods.ts (a chart's pods).",
    },
};

/** no-restricted-syntax for the program's files: every shared-builder restriction but the file's own. */
const sharedBuilderRules = () => {
    const all = Object.values(SHARED_BUILDERS);
    const owners = [...new Set(all.flatMap((r) => r.owners))];
    const entry = (others) => ({
        "no-restricted-syntax": ["error", ...others.map(({ selector, message }) => ({ selector, message }))],
    });
    return [
        {
            name: "shared-builders",
            files: ["index.ts", "components/**/*.ts"],
            ignores: owners,
            rules: entry(all),
        },
        ...owners.map((owner) => ({
            name: `shared-builders:${owner}`,
            files: [owner],
            rules: entry(all.filter((r) => !r.owners.includes(owner))),
        })),
    ];
};

export default tseslint.config(
    { ignores: ["node_modules/", ".ci/", ".cache/", "bin/"] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        linterOptions: { reportUnusedDisableDirectives: "error" },
        rules: {
            // Imports: one statement per module, types imported as types (cycles and layering: .dependency-cruiser.cjs).
            "no-duplicate-imports": ["error", { includeExports: true }],
            "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
            "@typescript-eslint/no-import-type-side-effects": "error",
            // Promises are awaited or handled; nothing unused is left behind.
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-misused-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            "@typescript-eslint/no-unused-expressions": "error",
        },
    },
    ...sharedBuilderRules(),
    {
        // The policy pack and the tests read manifests as the cluster receives them: untyped JSON
        // (recorded wire values, CrossGuard props), so `any` is the honest type there.
        files: ["policy/**/*.ts", "tests/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
    {
        // Plain CommonJS run by Node: the reference service, the TypeScript loader, tool configs.
        files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
        ...tseslint.configs.disableTypeChecked,
        languageOptions: {
            ...tseslint.configs.disableTypeChecked.languageOptions,
            globals: globals.node,
            sourceType: "commonjs",
        },
        rules: { ...tseslint.configs.disableTypeChecked.rules, "@typescript-eslint/no-require-imports": "off" },
    },
);
