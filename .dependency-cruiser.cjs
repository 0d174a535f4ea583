// Architecture rules (`npm run lint`): layers meet through small contracts, never through each other.
// Type-only imports count too (tsPreCompilationDeps), because a type import is still a coupling.
const LAYERS = "(addons|mesh|observability|redis-enterprise|cloudnative-pg|shop|core-services)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
    forbidden: [
        {
            name: "no-circular",
            severity: "error",
            comment: "Modules form a tree: an import circle makes every module in it depend on all the others.",
            from: {},
            to: { circular: true },
        },
        {
            name: "layer-to-other-layer",
            severity: "error",
            comment:
                "A layer imports contracts (components/contracts.ts) and shared building blocks, never another layer: index.ts decides which layer feeds which.",
            from: { path: `^components/${LAYERS}/` },
            to: { path: `^components/${LAYERS}/`, pathNot: "^components/$1/" },
        },
        {
            name: "building-block-to-layer",
            severity: "error",
            comment: "Shared building blocks (components/*.ts) serve every layer and import none.",
            from: { path: "^components/[^/]+\\.ts$" },
            to: { path: `^components/${LAYERS}/` },
        },
        {
            name: "config-is-a-leaf",
            severity: "error",
            comment: "Configuration is read and validated in config/ alone; it knows nothing of the components.",
            from: { path: "^config/" },
            to: { path: "^(components|policy|tests|scripts)/|^index\\.ts$" },
        },
        {
            name: "policy-is-standalone",
            severity: "error",
            comment: "The policy pack runs as its own small Node program: it imports no program code.",
            from: { path: "^policy/" },
            to: { path: "^(components|config|tests|scripts)/|^index\\.ts$" },
        },
        {
            name: "program-not-to-tests",
            severity: "error",
            comment: "Program code never imports the test harness.",
            from: { path: "^(index\\.ts|config|components|policy)" },
            to: { path: "^tests/" },
        },
    ],
    options: {
        doNotFollow: { path: "node_modules" },
        tsPreCompilationDeps: true,
        tsConfig: { fileName: "tsconfig.json" },
        exclude: { path: "^node_modules/" },
    },
};
