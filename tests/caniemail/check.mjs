// Test-only gate: run the caniemail.com support data over an email's HTML and print, per
// client, the features the data marks as unsupported (JSON on stdout).
import { readFileSync } from "node:fs";
import { caniemail } from "caniemail";

const html = readFileSync(process.argv[2], "utf8");
const clients = process.argv.slice(3);
const result = caniemail({ clients, html });
const errors = {};
for (const [client, issues] of result.issues.errors) {
  errors[client] = [...new Set(issues.map((issue) => issue.title))];
}
console.log(JSON.stringify(errors));
