// `npm run commits -- <base>..<head>`: the commit messages of a range against the team's rules: a
// subject of at most 72 characters, a blank line, then a body that says why. The pull-request
// workflow runs it on the pull request's commits (landed history is not rewritten).
import { execFileSync } from "node:child_process";

export const SUBJECT_MAX = 72;

/** What breaks the rules in one commit message (empty when it keeps them). */
export function messageProblems(message: string): string[] {
    const [subject = "", blank, ...body] = message.replace(/\s+$/, "").split("\n");
    const out: string[] = [];
    if (subject.trim() === "") out.push("no subject");
    if (subject.length > SUBJECT_MAX) out.push(`subject of ${subject.length} characters (at most ${SUBJECT_MAX})`);
    if (blank !== undefined && blank.trim() !== "") out.push("no blank line after the subject");
    if (body.join("").trim() === "") out.push("no body saying why");
    return out;
}

function main() {
    const range = process.argv[2];
    if (!range) throw new Error("usage: npm run commits -- <base>..<head>");
    const log = execFileSync("git", ["log", "--no-merges", "--format=%h%x00%B%x1e", range], { encoding: "utf8" });
    const problems = log
        .split("\x1e")
        .map((entry) => entry.replace(/^\n/, ""))
        .filter((entry) => entry.includes("\0"))
        .flatMap((entry) => {
            const [hash, message] = entry.split("\0");
            return messageProblems(message).map((p) => `${hash} ${message.split("\n")[0]}: ${p}`);
        });
    for (const p of problems) console.log(p);
    if (problems.length) {
        console.error(`npm run commits: ${problems.length} problem(s) in ${range}; reword with git rebase -i`);
        process.exit(1);
    }
}

if (require.main === module) main();
