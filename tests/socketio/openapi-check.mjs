// Checks Maestro Server's OpenAPI document (argv[2]) and, optionally, recorded exchanges
// (argv[3]: [{method, path, status, request?, response}], `path` in the document's template
// form) against it:
//   1. the document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator);
//   2. every component schema compiles as JSON Schema 2020-12 (Ajv) with every $ref resolved;
//   3. each accepted request body matches its operation's request schema, and each response
//      body the schema of its status (or is the Error schema for an error status).
// Prints every problem and exits 1 if there was any.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [docPath, samplesPath] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const problems = [];

const validator = new Validator();
const res = await validator.validate(structuredClone(doc));
if (!res.valid) {
  problems.push(`not valid OpenAPI ${doc.openapi}: ${JSON.stringify(res.errors, null, 1)}`);
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// schemars' numeric formats (OpenAPI allows any format; these only restate the type's range).
for (const f of ["int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float", "double"]) {
  ajv.addFormat(f, true);
}
// Schemas refer to each other as "#/components/schemas/X": register the document itself.
ajv.addSchema({ $id: "maestro", components: doc.components }, "maestro");
const compiled = new Map();
const compile = (schema) => {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    // Local refs are rewritten to point into the registered document.
    const text = key.replaceAll('"#/components/', '"maestro#/components/');
    compiled.set(key, ajv.compile(JSON.parse(text)));
  }
  return compiled.get(key);
};
for (const name of Object.keys(doc.components?.schemas ?? {})) {
  try {
    compile({ $ref: `#/components/schemas/${name}` });
  } catch (e) {
    problems.push(`schema ${name} does not compile: ${e.message}`);
  }
}

const resolve = (x) =>
  x?.$ref ? x.$ref.split("/").slice(1).reduce((o, k) => o?.[k], doc) : x;

let checked = 0;
if (samplesPath) {
  const samples = JSON.parse(readFileSync(samplesPath, "utf8"));
  for (const s of samples) {
    const op = doc.paths?.[s.path]?.[s.method.toLowerCase()];
    const where = `${s.method} ${s.path} (${s.status})`;
    if (!op) {
      problems.push(`${where}: no such operation in the document`);
      continue;
    }
    // Requests the server refused were wrong on purpose; accepted ones must match.
    if (s.request !== undefined && s.request !== null && s.status < 400) {
      const schema = op.requestBody?.content?.["application/json"]?.schema;
      if (!schema) {
        problems.push(`${where}: a body was sent but the operation documents none`);
      } else {
        const v = compile(schema);
        if (!v(s.request)) {
          problems.push(`${where}: request ${JSON.stringify(s.request)} does not match: ${ajv.errorsText(v.errors)}`);
        }
      }
    }
    const documented = resolve(op.responses?.[String(s.status)] ?? op.responses?.default);
    const schema = documented?.content?.["application/json"]?.schema;
    if (!schema) {
      problems.push(`${where}: status not documented`);
      continue;
    }
    const v = compile(schema);
    if (!v(s.response)) {
      problems.push(`${where}: response ${JSON.stringify(s.response).slice(0, 400)} does not match: ${ajv.errorsText(v.errors)}`);
    }
    checked += 1;
  }
}

if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`OpenAPI ${doc.openapi} document valid; ${Object.keys(doc.components.schemas).length} schemas compile; ${checked} recorded answers match`);
