// Resource identity across program versions. Pulumi matches a stack's resources to the program's by
// URN; a renamed resource (or a moved one, under another parent or component type) is deleted and
// created again unless an alias names its former URN. These functions compute the URNs a program
// still claims: every resource's own, and those its aliases reach, with the engine's rule for
// children (a child inherits every alias of its parent; a child's name that starts with its parent's
// name takes the parent alias's name in its place).
import type { AliasSpec, RecordedResource } from "./types";

interface Parsed {
    stack: string;
    project: string;
    /** The parent's type and the own type, `$`-separated (just the own type at the root). */
    qualifiedType: string;
    name: string;
}

const parse = (urn: string): Parsed => {
    const [prefix, project, qualifiedType, ...name] = urn.split("::");
    return { stack: prefix.slice("urn:pulumi:".length), project, qualifiedType, name: name.join("::") };
};
const ownType = (qualifiedType: string) => qualifiedType.split("$").pop()!;
const format = (p: Parsed) => `urn:pulumi:${p.stack}::${p.project}::${p.qualifiedType}::${p.name}`;

/** The URN of a resource of `type` named `name` under `parentUrn` (undefined: at the stack's root). */
function urnOf(stack: string, project: string, type: string, name: string, parentUrn?: string): string {
    // A URN names its parent's own type, not the parent's whole chain.
    const parentType = parentUrn ? ownType(parse(parentUrn).qualifiedType) : undefined;
    if (parentType === "pulumi:pulumi:Stack") return format({ stack, project, qualifiedType: type, name });
    return format({ stack, project, qualifiedType: parentType ? `${parentType}$${type}` : type, name });
}

/** Every URN each resource answers to: its own and its aliases' (inherited ones included). */
export function claimedUrns(resources: RecordedResource[]): Map<string, string[]> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const memo = new Map<string, string[]>();
    const aliasesOf = (r: RecordedResource): string[] => {
        const known = memo.get(r.urn);
        if (known) return known;
        const me = parse(r.urn);
        const type = ownType(me.qualifiedType);
        const out = new Set<string>();
        const parent = r.parent ? byUrn.get(r.parent) : undefined;
        for (const a of r.aliases ?? ([] as AliasSpec[])) {
            if (a.urn) out.add(a.urn);
            else
                out.add(
                    urnOf(
                        me.stack,
                        me.project,
                        a.type ?? type,
                        a.name ?? r.name,
                        a.noParent ? undefined : (a.parentUrn ?? r.parent),
                    ),
                );
        }
        if (parent) {
            const parentName = parse(parent.urn).name;
            for (const parentAlias of aliasesOf(parent)) {
                const aliasName = r.name.startsWith(parentName)
                    ? parse(parentAlias).name + r.name.slice(parentName.length)
                    : r.name;
                out.add(urnOf(me.stack, me.project, type, aliasName, parentAlias));
            }
        }
        const list = [...out].filter((u) => u !== r.urn);
        memo.set(r.urn, list);
        return list;
    };
    return new Map(resources.map((r) => [r.urn, [r.urn, ...aliasesOf(r)]]));
}

/** URNs of a deployed stack (a snapshot) that the program no longer claims: `pulumi up` would delete them. */
export function unclaimed(snapshot: string[], resources: RecordedResource[]): string[] {
    const claimed = new Set([...claimedUrns(resources).values()].flat());
    return snapshot.filter((u) => !claimed.has(u));
}

/** The snapshot form: the URNs a stack's program registers, sorted. */
export const snapshotOf = (resources: RecordedResource[]) => resources.map((r) => r.urn).sort();
