// Tokenizes text with llama.cpp (through node-llama-cpp, installed by scripts/oracle-setup) so
// that moebench's tokenizer can be cross-checked against the reference implementation.
//
//   node llama_tokenize.mjs --model M.gguf --input cases.json [--special | --both] [--output ids.json]
//       cases.json: a JSON array of strings; writes a JSON array of token-id arrays (no BOS/EOS
//       added; --special parses special-token text as in llama_tokenize(parse_special=true));
//       --both writes {"plain": [...], "special": [...]} with both settings.
//   node llama_tokenize.mjs --model M.gguf --bench text.txt [--repeat N]
//       tokenizes the file line by line (as moebench's own benchmark does) and prints one JSON
//       object: bytes, tokens, seconds, mb_per_s.
import fs from "node:fs";
import process from "node:process";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parse_args(argv) {
  const args = { special: false, repeat: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--model") args.model = value();
    else if (a === "--input") args.input = value();
    else if (a === "--output") args.output = value();
    else if (a === "--bench") args.bench = value();
    else if (a === "--repeat") args.repeat = Number(value());
    else if (a === "--special") args.special = true;
    else if (a === "--both") args.both = true;
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!args.model || (!args.input && !args.bench)) {
    throw new Error("usage: --model M.gguf (--input cases.json | --bench text.txt)");
  }
  return args;
}

async function main() {
  const args = parse_args(process.argv.slice(2));
  // The CPU build is enough for tokenizing and keeps the oracle usable on machines without GPUs.
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: "never" });
  const model = await llama.loadModel({ modelPath: args.model, vocabOnly: true });
  if (args.input) {
    const cases = JSON.parse(fs.readFileSync(args.input, "utf8"));
    if (!Array.isArray(cases)) throw new Error(`${args.input}: expected a JSON array of strings`);
    const run = (special) => cases.map((text) => Array.from(model.tokenize(text, special)));
    const json = JSON.stringify(args.both ? { plain: run(false), special: run(true) } : run(args.special));
    if (args.output) fs.writeFileSync(args.output, json);
    else process.stdout.write(json + "\n");
  } else {
    const lines = fs.readFileSync(args.bench, "utf8").split(/(?<=\n)/);
    const bytes = Buffer.byteLength(lines.join(""), "utf8") * args.repeat;
    let tokens = 0;
    const start = process.hrtime.bigint();
    for (let r = 0; r < args.repeat; r++) {
      for (const line of lines) tokens += model.tokenize(line, false).length;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ bytes, tokens, seconds, mb_per_s: bytes / 1e6 / seconds }) + "\n");
  }
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => {
  process.stderr.write(`llama_tokenize: ${e.message}\n`);
  process.exit(2);
});
